"""A private PgBouncer in transaction mode on a free loopback port, in front of the machine's
PostgreSQL, for the several-hosts suite's pooled variant (issue 26, item 4)."""

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from testbed import Missing

PROGRAM = "/usr/sbin/pgbouncer"
# PgBouncer refuses to run as root; it drops to this user (the PostgreSQL server's).
RUN_AS = "postgres"


class PgBouncer:
    def __init__(self, *, upstream_host="127.0.0.1", upstream_port=5432, pool_size=4):
        if not os.path.exists(PROGRAM):
            raise Missing("pgbouncer is not installed")
        self.upstream = (upstream_host, upstream_port)
        self.pool_size = pool_size
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.folder = None
        self.process = None

    def url(self, database, user="postgres"):
        return f"postgres://{user}@127.0.0.1:{self.port}/{database}"

    def start(self):
        # Its own folder, readable by the user it runs as (pytest's are root's alone).
        self.folder = Path(tempfile.mkdtemp(prefix="portal-pgbouncer-"))
        self.folder.chmod(0o755)
        host, port = self.upstream
        (self.folder / "users.txt").write_text('"postgres" ""\n')
        (self.folder / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"* = host={host} port={port}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {self.folder / 'users.txt'}\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {self.pool_size}\nmin_pool_size = 0\nreserve_pool_size = 0\n"
            "max_client_conn = 500\n"
            "ignore_startup_parameters = extra_float_digits,options\n"
            f"logfile = {self.folder / 'pgbouncer.log'}\n"
            "admin_users = postgres\n"
        )
        command = [PROGRAM, str(self.folder / "pgbouncer.ini")]
        if os.geteuid() == 0:
            # Its log goes in the folder: the user it runs as owns it.
            user = pwd.getpwnam(RUN_AS)
            for path in (self.folder, *self.folder.iterdir()):
                os.chown(path, user.pw_uid, user.pw_gid)
            command[1:1] = ["-u", RUN_AS]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"pgbouncer exited: {self.process.stderr.read().decode()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("pgbouncer did not start")

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def log(self):
        return (self.folder / "pgbouncer.log").read_text(errors="replace") if self.folder else ""
