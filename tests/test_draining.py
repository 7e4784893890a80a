"""SIGTERM to gunicorn's master (CONTRACT §14): /readyz answers 503 at once, every other
request is still served for DRAIN_SECONDS, then the host stops gracefully. Behind a real load
balancer: tests/hosts/test_rolling_restart.py."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from django.db import connection

from testbed.server import bare_gunicorn, request
from testbed.throwaway import ROOT
from web import invalidation

pytestmark = pytest.mark.slow

DRAIN = 3
SERVED = "/api/v1/openapi.json"


@contextlib.contextmanager
def serving(directory, drain):
    with bare_gunicorn(
        directory,
        database_url=f"sqlite:///{directory / 'db.sqlite3'}",
        workers=2,
        DRAIN_SECONDS=str(drain),
    ) as server:
        wait_for(lambda: status(server, "/readyz") == 200)
        yield server


def status(server, path):
    with contextlib.suppress(OSError):
        return request(server.port, "GET", path)[0].status
    return None  # refused: nothing listens any more


def wait_for(condition, timeout=20):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_after_sigterm_only_readiness_fails_until_the_drain_ends_then_it_stops(tmp_path):
    with serving(tmp_path, DRAIN) as server:
        sent = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        wait_for(lambda: status(server, "/readyz") == 503, timeout=1)
        _, body = request(server.port, "GET", "/readyz")
        assert json.loads(body) == {"status": "unavailable", "failing": ["draining"]}
        answers = []
        while server.process.poll() is None:
            answers.append((time.monotonic() - sent, status(server, SERVED)))
            time.sleep(0.05)
        stopped = time.monotonic() - sent
    during = [code for moment, code in answers if moment < DRAIN - 0.2]
    assert len(during) > 10 and set(during) == {200}
    assert DRAIN <= stopped < DRAIN + 5
    assert server.process.returncode == 0
    assert "Draining: /readyz answers 503; stopping in 3 s" in server.log()


def test_a_second_sigterm_stops_without_waiting_for_the_drain(tmp_path):
    with serving(tmp_path, drain=60) as server:
        sent = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        wait_for(lambda: status(server, "/readyz") == 503, timeout=1)
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=10)
    assert time.monotonic() - sent < 10
    assert server.process.returncode == 0


@pytest.mark.parametrize("value", ["soon", "-1", "3601", "nan"])
def test_a_bad_drain_period_stops_gunicorn_from_starting_with_a_clear_message(value):
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "--check-config"],
        cwd=ROOT,
        env={**os.environ, "DRAIN_SECONDS": value, "DJANGO_SETTINGS_MODULE": "testbed.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert f"DRAIN_SECONDS must be seconds from 0 to 3600, not {value!r}" in result.stderr


@pytest.mark.django_db
def test_a_stopping_listener_releases_its_lease_at_once():
    """What a host's listener does as gunicorn's master exits (gunicorn.conf.py's on_exit):
    writers stop waiting for the host at once, not a heartbeat or a lease later."""
    if connection.vendor != "postgresql":
        pytest.skip("listeners hold leases on PostgreSQL")
    before = leases_of_this_process()
    for _ in range(3):
        board = invalidation.MemoryBoard()
        listener = invalidation.Listener(board, invalidation._listener_params())
        listener.start()
        wait_for(lambda board=board: board.trusted_until() > time.monotonic())
        started = time.monotonic()
        listener.stop()
        assert time.monotonic() - started < 0.3
        assert leases_of_this_process() == before


def leases_of_this_process():
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tokens_cachelistener WHERE pid = %s", [os.getpid()])
        return cursor.fetchone()[0]
