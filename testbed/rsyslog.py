"""A private rsyslogd (Debian's) on a free loopback TCP port, writing every message it receives
to a file: the real receiver the SIEM agent's tests deliver to."""

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from testbed import Missing

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"

CONFIG = """\
global(workDirectory="{folder}")
module(load="imtcp")
input(type="imtcp" port="{port}" address="127.0.0.1")
template(name="received" type="string" string="%msgid% %msg%\\n")
action(type="omfile" file="{output}" template="received")
"""


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Rsyslog:
    """Each received message is one line of `output`: its RFC 5424 MSGID and MSG."""

    def __init__(self, folder):
        if not os.path.exists(RSYSLOGD):
            raise Missing("rsyslogd is not installed (make test installs Debian's rsyslog)")
        self.folder = Path(folder)
        self.port = free_port()
        self.output = self.folder / "received.log"
        self.config = self.folder / "rsyslog.conf"
        self.config.write_text(
            CONFIG.format(folder=self.folder, port=self.port, output=self.output)
        )
        self.process = None

    def start(self):
        """Start (again, on the same port and file) and return once it accepts connections."""
        self.process = subprocess.Popen(  # noqa: S603
            [RSYSLOGD, "-n", "-f", str(self.config), "-i", str(self.folder / "rsyslogd.pid")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError("rsyslogd exited at start") from None
                time.sleep(0.05)
        raise RuntimeError("rsyslogd did not start listening")

    def stop(self):
        """A clean stop (SIGTERM): rsyslog writes what it has read, then exits."""
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)
            self.process = None

    def lines(self):
        try:
            return self.output.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []

    def wait_for(self, count, timeout=60):
        """The received lines once there are at least `count` (or the timeout passes)."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.lines()
            if len(lines) >= count or time.monotonic() > deadline:
                return lines
            time.sleep(0.05)
