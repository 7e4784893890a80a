"""A real gunicorn serving the portal on a throw-away database, for the load tests.

The database follows the run's DATABASE_URL: a new PostgreSQL database on the same server
when it names PostgreSQL, else a new SQLite file. Only processes started here are signalled,
each by its id.
"""

import contextlib
import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
PORTS = range(8300, 8400)
SECRET_KEY = "load-test-only-" + "k" * 50


class ThrowawayDatabase:
    """A database that exists for one load test."""

    def __init__(self, directory):
        url = os.environ.get("DATABASE_URL", "")
        self.engine = "postgresql" if url.startswith(("postgres://", "postgresql://")) else "sqlite"
        if self.engine == "postgresql":
            self._server_url = url
            self.name = f"portal_load_{os.getpid()}_{uuid.uuid4().hex[:6]}"
            self._admin(f'CREATE DATABASE "{self.name}"')
            self.url = urlunsplit(urlsplit(url)._replace(path=f"/{self.name}"))
        else:
            self.path = Path(directory) / "load.sqlite3"
            self.url = f"sqlite:///{self.path}"

    def _admin(self, sql):
        import psycopg

        with psycopg.connect(self._server_url, autocommit=True) as connection:
            connection.execute(sql)

    def _query(self, sql):
        if self.engine == "sqlite":
            with contextlib.closing(sqlite3.connect(self.path)) as connection:
                return connection.execute(sql).fetchall()
        import psycopg

        with psycopg.connect(self.url) as connection:
            return connection.execute(sql).fetchall()

    def token_rows(self):
        """{token id: revoked?} for every row of tokens_token."""
        rows = self._query("SELECT id, revoked_at FROM tokens_token")
        return {uuid.UUID(str(pk)): revoked is not None for pk, revoked in rows}

    def drop(self):
        if self.engine == "postgresql":
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def free_port():
    start = os.getpid() % len(PORTS)
    for port in [*PORTS[start:], *PORTS[:start]]:
        with socket.socket() as probe, contextlib.suppress(OSError):
            probe.bind(("127.0.0.1", port))
            return port
    raise RuntimeError("No free port in 8300-8399.")


def server_env(database, port, directory, workers):
    """Production settings, configured as an operator would, on the throw-away database."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PORTAL_", "TOKEN_", "GUNICORN_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DEBUG": "false",
            "SECRET_KEY": SECRET_KEY,
            "PORTAL_DOMAIN": "portal.localhost",
            "PORTAL_SCHEME": "http",
            "PORTAL_PORT": str(port),
            "DATABASE_URL": database.url,
            "PORT": str(port),
            "WEB_CONCURRENCY": str(workers),
            # The verified-token cache and its cross-process epoch are what revocation must
            # get through: on explicitly, with an epoch file of this test's own.
            "TOKEN_CACHE": "local",
            "TOKEN_CACHE_EPOCH_FILE": str(Path(directory) / "auth-epoch"),
            # Last use moves every second, so concurrent workers race to write it.
            "TOKEN_LAST_USED_RESOLUTION": "1",
            # Clients are told apart by X-Forwarded-For, as behind one reverse proxy.
            "TRUSTED_PROXIES": "1",
            "LOG_LEVEL": "WARNING",
        }
    )
    return env


def manage(*args, env):
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {args[0]} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def prepare(env):
    """Migrate, collect static files (the manifest storage needs them) and seed the tenant."""
    manage("migrate", "--noinput", "-v0", env=env)
    manage("collectstatic", "--noinput", "-v0", env=env)
    out = manage("shell", "-c", "from tests.load.seed import main; main()", env=env)
    return json.loads(out.strip().splitlines()[-1])


def request(port, method, path, *, host="portal.localhost", headers=None, body=None):
    """One request on a new connection (gunicorn's sync workers close each one)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body, headers={"Host": host, **(headers or {})})
        response = connection.getresponse()
        return response, response.read()
    finally:
        connection.close()


class Gunicorn:
    def __init__(self, env, log_path):
        self.env, self.log_path = env, Path(log_path)
        self.port = int(env["PORT"])
        self.workers_wanted = int(env["WEB_CONCURRENCY"])
        self.process = None

    def start(self, timeout=30):
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(  # noqa: S603
            # A control socket of its own: the default one in ~/.gunicorn is shared by every
            # gunicorn of the user on this host.
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                "gunicorn.conf.py",
                "--control-socket",
                str(self.log_path.with_name("gunicorn.ctl")),
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log()[-3000:]}")
            with contextlib.suppress(OSError):
                answered = request(self.port, "GET", "/api/v1/openapi.json")[0].status == 200
                if answered and len(self.workers()) == self.workers_wanted:
                    return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer in {timeout} s:\n{self.log()[-3000:]}")

    def workers(self):
        """Live worker pids: the master's children, read from /proc."""
        pids = set()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == self.process.pid and fields[0] != "Z":
                    pids.add(int(stat.parent.name))
        return pids

    def kill_worker(self):
        """SIGKILL one worker; return its pid, when the signal was sent and when the worker
        was seen dead (time.monotonic)."""
        pid = min(self.workers())
        sent = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        while pid in self.workers():
            time.sleep(0.001)
        return pid, sent, time.monotonic()

    def wait_for_replacement(self, killed, timeout=20):
        """Seconds until the master runs a full set of workers again, without the killed one."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            workers = self.workers()
            if killed not in workers and len(workers) == self.workers_wanted:
                return time.monotonic() - started
            time.sleep(0.01)
        return None

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        workers = self.workers()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=25)
        except subprocess.TimeoutExpired:
            for pid in (*workers, self.process.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self.process.wait(timeout=5)

    def log(self):
        return self.log_path.read_text(errors="replace")
