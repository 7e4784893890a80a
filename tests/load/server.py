"""A real gunicorn serving the portal on a throw-away database (tests.throwaway), for the
load tests. Only processes started here are signalled, each by its id."""

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.throwaway import ROOT, manage, portal_env, run_in_portal

PORTS = range(8300, 8400)


def free_port():
    start = os.getpid() % len(PORTS)
    for port in [*PORTS[start:], *PORTS[:start]]:
        with socket.socket() as probe, contextlib.suppress(OSError):
            probe.bind(("127.0.0.1", port))
            return port
    raise RuntimeError("No free port in 8300-8399.")


def server_env(database, port, directory, workers):
    """Production settings, configured as an operator would, on the throw-away database."""
    return portal_env(
        database,
        DJANGO_SETTINGS_MODULE="tests.load.settings",
        LOAD_STATIC_ROOT=str(Path(directory) / "static"),
        PORTAL_PORT=str(port),
        PORT=str(port),
        WEB_CONCURRENCY=str(workers),
        # The verified-token cache and its invalidation are what revocation must get
        # through: on explicitly.
        TOKEN_CACHE="on",
        # Last use moves every second, so concurrent workers race to write it.
        TOKEN_LAST_USED_RESOLUTION="1",
        # Clients are told apart by X-Forwarded-For, as behind one reverse proxy.
        TRUSTED_PROXIES="1",
    )


def prepare(env):
    """Migrate, collect static files (the manifest storage needs them) and seed the tenant."""
    manage("migrate", "--noinput", "-v0", env=env)
    manage("collectstatic", "--noinput", "-v0", env=env)
    return run_in_portal("tests.load.seed.main", env=env)


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
