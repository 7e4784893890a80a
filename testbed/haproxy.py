"""A private HAProxy (Debian's) on a free loopback port, balancing over portal hosts and
taking each in or out by its readiness probe (GET /readyz), as a production load balancer
would: the real peer of the rolling-restart test (CONTRACT §14)."""

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from testbed import Missing
from testbed.server import free_port

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
CHECK_EVERY_MS = 200

# No retries and no redispatch: a request sent to a host that stopped would fail, so a run
# without failures shows the hosts left the rotation before they stopped.
CONFIG = """\
global
    maxconn 256
    stats socket {socket} mode 600 level admin

defaults
    mode http
    option forwardfor
    retries 0
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    # A probe queues behind the requests a sync worker is busy with: a slow answer is not a
    # failed one (without this, HAProxy gives a check `inter` to complete).
    timeout check 2s

frontend portal
    bind 127.0.0.1:{port}
    default_backend hosts

backend hosts
    balance roundrobin
    option httpchk GET /readyz
    default-server check inter {inter}ms fall 2 rise 2
{servers}
"""


class HAProxy:
    def __init__(self, folder, servers):
        """servers: {name: port} of the hosts on 127.0.0.1."""
        if not os.path.exists(HAPROXY):
            raise Missing("haproxy is not installed (make test installs Debian's haproxy)")
        self.folder = Path(folder)
        self.port = free_port()
        self.socket = self.folder / "haproxy.sock"
        self.config = self.folder / "haproxy.cfg"
        lines = [f"    server {name} 127.0.0.1:{port}" for name, port in servers.items()]
        self.config.write_text(
            CONFIG.format(
                socket=self.socket, port=self.port, inter=CHECK_EVERY_MS, servers="\n".join(lines)
            )
        )
        self.process = None

    def start(self, timeout=20):
        """Start in the foreground (-db) and return once every server is UP."""
        with (self.folder / "haproxy.log").open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603
                [HAPROXY, "-db", "-f", str(self.config)], stdout=log, stderr=subprocess.STDOUT
            )
        self.wait_until(lambda states: set(states.values()) == {"UP"}, timeout)
        return self

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def states(self):
        """{server name: "UP", "DOWN", ...} as HAProxy's health checks see them now."""
        rows = self._command("show stat").splitlines()
        header = rows[0].lstrip("# ").split(",")
        found = {}
        for row in rows[1:]:
            fields = dict(zip(header, row.split(","), strict=False))
            if fields.get("pxname") == "hosts" and fields["svname"] not in ("BACKEND", ""):
                found[fields["svname"]] = fields["status"].split()[0]
        return found

    def wait_until(self, condition, timeout=20):
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"haproxy exited:\n{self.log()}")
            states = self._states_or_none()
            if states and condition(states):
                return states
            if time.monotonic() > deadline:
                raise RuntimeError(f"haproxy's servers stayed {states}:\n{self.log()}")
            time.sleep(0.05)

    def _states_or_none(self):
        try:
            return self.states()
        except OSError:  # the stats socket is not there yet
            return None

    def _command(self, line):
        with socket.socket(socket.AF_UNIX) as connection:
            connection.connect(str(self.socket))
            connection.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := connection.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def log(self):
        return (self.folder / "haproxy.log").read_text(errors="replace")[-3000:]
