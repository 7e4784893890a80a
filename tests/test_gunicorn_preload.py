"""gunicorn loads and warms the app once in the master (portal.warmup) and forks every worker,
at boot and after `kill -HUP`, from it without a database connection. Each worker records
what it inherited (tests/gunicorn_probe.conf.py); first-request latency itself is measured by
`python -m bench.first_request`, not asserted here."""

import json

import pytest

from testbed.server import bare_gunicorn, request

WORKERS = 2


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("preload")
    with bare_gunicorn(
        directory,
        database_url=f"sqlite:///{directory / 'db.sqlite3'}",
        workers=WORKERS,
        config="tests/gunicorn_probe.conf.py",
        PROBE_DIR=str(directory),
    ) as server:
        server.probe_dir = directory
        yield server


def inherited(server):
    """What each live worker found in its memory right after the fork."""
    workers = server.workers()
    assert len(workers) == WORKERS
    return [json.loads((server.probe_dir / f"{pid}.json").read_text()) for pid in workers]


def assert_warm_and_disconnected(states):
    for state in states:
        assert state["views imported"]
        assert {"base.html", "503.html", "registration/login.html"} <= set(
            state["templates compiled"]
        )
        assert state["open connections"] == []


def test_workers_fork_from_a_warm_master_without_its_connection(server):
    assert_warm_and_disconnected(inherited(server))


def test_workers_forked_after_hup_are_warm_too(server):
    before = server.workers()
    server.reload()
    assert not server.workers() & before
    assert_warm_and_disconnected(inherited(server))


def test_warm_workers_answer(server):
    assert request(server.port, "GET", "/healthz")[0].status == 200
    assert request(server.port, "GET", "/login/")[0].status == 200
