"""A real gunicorn serving the portal on a throw-away database (testbed.throwaway), for the
load tests and the benchmark. Only processes started here are signalled, each by its id."""

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from testbed.throwaway import ROOT, manage, portal_env, run_in_portal

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
        DJANGO_SETTINGS_MODULE="testbed.served_settings",
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


@contextlib.contextmanager
def bare_gunicorn(directory, *, database_url, workers=1, config="gunicorn.conf.py", **env):
    """A gunicorn on testbed.settings with a minimal environment, started without sending it a
    request (a request would warm its workers), stopped on exit."""
    port = free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "testbed.settings",
        "DATABASE_URL": database_url,
        "PORT": str(port),
        "WEB_CONCURRENCY": str(workers),
        "DRAIN_SECONDS": "0",  # no load balancer to wait for
        **env,
    }
    server = Gunicorn(env, Path(directory) / "gunicorn.log", config=config)
    server.start(probe=False)
    try:
        yield server
    finally:
        server.stop()


def prepare(env):
    """Migrate, collect static files (the manifest storage needs them) and seed the tenant."""
    manage("migrate", "--noinput", "-v0", env=env)
    manage("collectstatic", "--noinput", "-v0", env=env)
    return run_in_portal("testbed.seeds.load.main", env=env)


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
    def __init__(self, env, log_path, config="gunicorn.conf.py", root=ROOT):
        """root: the checkout to serve (another release's, for tests/upgrade)."""
        self.env, self.log_path, self.config, self.root = env, Path(log_path), config, root
        self.port = int(env["PORT"])
        self.workers_wanted = int(env["WEB_CONCURRENCY"])
        self.process = None

    def start(self, timeout=30, probe=True):
        """Start and wait until a full set of workers answers. probe=False waits for the
        workers to finish booting without sending them a request (a request warms them)."""
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(  # noqa: S603
            # A control socket of its own: the default one in ~/.gunicorn is shared by every
            # gunicorn of the user on this host.
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                self.config,
                "--control-socket",
                str(self.log_path.with_name("gunicorn.ctl")),
            ],
            cwd=self.root,
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
            if len(self.workers()) == self.workers_wanted:
                if not probe:
                    self.wait_until_idle(self.workers())
                    return
                if self._answers():
                    return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer in {timeout} s:\n{self.log()[-3000:]}")

    def _answers(self):
        with contextlib.suppress(OSError):
            return request(self.port, "GET", "/api/v1/openapi.json")[0].status == 200
        return False

    def workers(self):
        """Live worker pids: the master's children, read from /proc."""
        pids = set()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == self.process.pid and fields[0] != "Z":
                    pids.add(int(stat.parent.name))
        return pids

    def reload(self, timeout=30):
        """kill -HUP the master; return once a full set of new workers has booted (no request
        sent)."""
        old = self.workers()
        self.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            workers = self.workers()
            if not workers & old and len(workers) == self.workers_wanted:
                self.wait_until_idle(workers)
                return
            time.sleep(0.05)
        raise RuntimeError(f"gunicorn did not reload in {timeout} s:\n{self.log()[-3000:]}")

    @staticmethod
    def wait_until_idle(pids, quiet=0.5, timeout=30):
        """Wait until these processes have used no CPU for `quiet` seconds: a booted sync
        worker sleeps in select() until a request comes."""
        deadline = time.monotonic() + timeout
        last, still_since = None, time.monotonic()
        while time.monotonic() < deadline:
            used = sum(_cpu_ticks(pid) for pid in pids)
            if used != last:
                last, still_since = used, time.monotonic()
            elif time.monotonic() - still_since >= quiet:
                return
            time.sleep(0.05)
        raise RuntimeError(f"workers {sorted(pids)} still busy after {timeout} s")

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


def _cpu_ticks(pid):
    """User plus system CPU time of a process so far, in clock ticks (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])
