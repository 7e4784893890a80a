"""A private redis-server on a free loopback port, for the tests that stop, pause or kill
Redis (never the machine's shared one)."""

import shutil
import socket
import subprocess
import time

from testbed import Missing


class RedisServer:
    def __init__(self, folder):
        if not shutil.which("redis-server"):
            raise Missing("redis-server is not installed")
        self.folder = folder
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        """Start (again, on the same port) and return once it answers."""
        import redis

        self.process = subprocess.Popen(  # noqa: S603
            [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--dir", str(self.folder), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        client = self.client()
        for _ in range(200):
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                if self.process.poll() is not None:
                    raise RuntimeError("redis-server exited") from None
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        """SIGKILL, as a crash would."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def client(self):
        import redis

        return redis.Redis(port=self.port, socket_timeout=1)

    def counts(self):
        return {k.decode(): int(self.client().get(k)) for k in self.client().keys("*ratelimit*")}
