"""CONTRACT §14 behind a real load balancer: two hosts on one PostgreSQL behind HAProxy, which
checks GET /readyz; under steady load, host a then host b is restarted (SIGTERM, exit, start,
ready again). No request fails, and a revocation while a host is away waits for no lease of
the workers that left."""

import threading
import time

import pytest

from testbed.cluster import cluster
from testbed.haproxy import HAProxy
from testbed.server import request
from testbed.throwaway import suite_engine
from web.invalidation import LEASE

pytestmark = [
    pytest.mark.hosts,
    pytest.mark.slow,
    pytest.mark.skipif(
        suite_engine() != "postgresql", reason="several hosts share PostgreSQL: PostgreSQL suite"
    ),
]

ME = "/api/v1/me/"
CLIENTS = 3


class SteadyLoad:
    """CLIENTS threads calling the API through the balancer, each call on a new connection,
    until stopped; every answer other than 200 (or no answer) is a failure."""

    def __init__(self, port, host, secret):
        self.call = lambda: (
            request(port, "GET", ME, host=host, headers={"Authorization": f"Token {secret}"})[
                0
            ].status
        )
        self.answers, self.failures = 0, []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run) for _ in range(CLIENTS)]

    def _run(self):
        while not self._stop.is_set():
            try:
                status = self.call()
            except OSError as error:
                status = repr(error)
            self.answers += 1
            if status != 200:
                self.failures.append(status)

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for thread in self._threads:
            thread.join()


def restart(host, balancer, name, during=lambda master: None):
    """SIGTERM, wait for the exit, run during(the pid of the master that left) while the host
    is away, start it again and wait until the balancer sends it traffic."""
    master = host.process.pid
    host.stop()
    found = during(master)
    host.start()
    balancer.wait_until(lambda states: states[name] == "UP")
    return found


def test_restarting_hosts_one_at_a_time_under_load_fails_no_request(tmp_path):
    with cluster(tmp_path, DRAIN_SECONDS="2") as hosts:
        balancer = HAProxy(tmp_path, {"a": hosts.hosts[0].port, "b": hosts.hosts[1].port})
        balancer.start()
        try:
            seed = hosts.seed
            trial = seed["trials"][0]

            def revoke_while_away(master):
                rows = hosts.database.query(
                    f"SELECT count(*) FROM tokens_cachelistener WHERE pid = {int(master)}"
                )[0][0]
                started = time.monotonic()
                status = request(
                    balancer.port,
                    "DELETE",
                    f"/api/v1/tokens/{trial['id']}/",
                    host=seed["host"],
                    headers={"Authorization": f"Token {seed['admin']['secret']}"},
                )[0].status
                return rows, status, time.monotonic() - started

            with SteadyLoad(balancer.port, seed["host"], seed["admin"]["secret"]) as load:
                time.sleep(1)
                rows, status, seconds = restart(hosts.hosts[0], balancer, "a", revoke_while_away)
                restart(hosts.hosts[1], balancer, "b")
                time.sleep(1)
        finally:
            balancer.stop()
    print(  # with -s: the figures docs/operations.md quotes
        f"\nrolling restart: {load.answers} requests through HAProxy, {len(load.failures)} "
        f"failed; a revocation while host a was away took {seconds * 1000:.0f} ms"
    )
    assert load.failures == [] and load.answers > 100
    assert rows == 0  # the host's listener released its lease on the way out
    assert status == 204 and seconds < LEASE / 2, seconds
