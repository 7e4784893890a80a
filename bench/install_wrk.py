"""Make sure wrk, the load generator of the HTTP benchmark, is present; install Debian's
package when possible. Prints one line at most. Without it the benchmark falls back to a
threaded Python client, which needs more CPU for the same load (see docs/performance.md)."""

import os
import shutil
import subprocess
import sys


def main():
    if shutil.which("wrk"):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        print("wrk not found and cannot be installed here: using the Python load client.")
        return
    print("Installing Debian's wrk for the HTTP benchmark...")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "wrk"]
    # Without an update first when the package lists already know wrk: saves a minute.
    for commands in ([install], [["apt-get", "update", "-qq"], install]):
        if all(_run(command, env) for command in commands):
            return
    print("Could not install wrk: using the Python load client.")


def _run(command, env):
    return subprocess.run(command, env=env, capture_output=True, check=False).returncode == 0


if __name__ == "__main__":
    sys.exit(main())
