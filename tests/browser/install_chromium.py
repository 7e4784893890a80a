"""Make sure Debian's Chromium is present for the browser tests; install it when possible.

Prints one line. Browser downloads by Playwright are not possible here, so the tests drive
/usr/bin/chromium; without it they are skipped with a clear reason.
"""

import os
import shutil
import subprocess
import sys

CHROMIUM = "/usr/bin/chromium"


def main():
    if os.path.exists(CHROMIUM):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        print("Chromium not found and cannot be installed here: browser tests will be skipped.")
        return
    print("Installing Debian's chromium for the browser tests...")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-1:]
            print(f"Could not install chromium ({' '.join(tail)}): browser tests will be skipped.")
            return


if __name__ == "__main__":
    sys.exit(main())
