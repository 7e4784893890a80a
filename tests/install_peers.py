"""Make sure the Debian programs the tests drive are present; install them when possible.

Chromium for the browser tests (Playwright's own browser downloads are not possible here, so
they drive /usr/bin/chromium), rsyslog, the real syslog receiver of the SIEM agent's tests,
PgBouncer, the pooler the several-hosts suite runs through in one variant, and HAProxy, the
load balancer of the rolling-restart test (tests/hosts/test_rolling_restart.py).
Prints one line per missing program; tests whose program is missing are skipped with a reason.
"""

import os
import shutil
import subprocess
import sys

PEERS = {
    "/usr/bin/chromium": "chromium",
    "/usr/sbin/rsyslogd": "rsyslog",
    # The several-hosts suite's pooled variant (issue 26).
    "/usr/sbin/pgbouncer": "pgbouncer",
    "/usr/sbin/haproxy": "haproxy",
}


def main():
    missing = [package for path, package in PEERS.items() if not os.path.exists(path)]
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        print(f"Not found and cannot be installed here: {', '.join(missing)}; their tests skip.")
        return
    print(f"Installing Debian's {', '.join(missing)} for the tests...")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # rsyslog's, pgbouncer's and haproxy's packages would start the machine's own daemons; the
    # tests start their own.
    policy = "/usr/sbin/policy-rc.d"
    added_policy = not os.path.exists(policy)
    if added_policy:
        with open(policy, "w") as file:
            file.write("#!/bin/sh\nexit 101\n")
        os.chmod(policy, 0o755)
    try:
        for command in (
            ["apt-get", "update", "-qq"],
            ["apt-get", "install", "-y", "-qq", *missing],
        ):
            result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                tail = (result.stderr or result.stdout).strip().splitlines()[-1:]
                print(f"Could not install {', '.join(missing)} ({' '.join(tail)}): tests skip.")
                return
    finally:
        if added_policy:
            os.unlink(policy)


if __name__ == "__main__":
    sys.exit(main())
