"""Usage counts and client addresses: counted in memory, written by each process's flusher
thread, never in a request (security review 3, finding 2); a failed flush loses nothing."""

import logging
import time
from datetime import timedelta

import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.api import api_client
from tokens import pending, sightings, usage
from tokens.models import TokenClientAddress, TokenNetwork, TokenUsage

USAGE_TABLES = ("tokens_tokenusage", "tokens_tokenclientaddress", "tokens_tokennetwork")


def test_counts_and_addresses_are_kept_without_a_write_per_request(issue, operator, settings):
    token, secret = issue(operator)
    client = api_client(secret)
    client.get("/api/v1/me/", REMOTE_ADDR="192.0.2.10")
    client.get("/api/v1/me/", REMOTE_ADDR="192.0.2.10")  # reloads after first use's bump
    with CaptureQueriesContext(connection) as queries:
        for _ in range(19):
            client.get("/api/v1/me/", REMOTE_ADDR="192.0.2.11")
    assert len(queries) == 0
    pending.flush_all()
    assert usage.requests_last_30_days(token) == 21
    assert [a.address for a in usage.recent_addresses(token)] == ["192.0.2.11", "192.0.2.10"]


def test_a_call_runs_no_flush_even_when_its_window_is_over(issue, operator):
    """Review 3, finding 2: the request that found its process's window over used to write
    every token's counts, addresses and networks itself, and stalled past gunicorn's timeout."""
    token, secret = issue(operator)
    long_ago = timezone.now() - timedelta(minutes=5)
    usage.record_refusal(token, now=long_ago)  # this process's window opened long ago
    for n in range(300):
        usage.record_use(token, f"10.0.{n}.1" if n < 256 else f"10.1.{n - 256}.1", now=long_ago)
    with CaptureQueriesContext(connection) as queries:
        assert api_client(secret).get("/api/v1/me/", REMOTE_ADDR="192.0.2.9").status_code == 200
    written = [q["sql"] for q in queries if any(table in q["sql"] for table in USAGE_TABLES)]
    assert written == [] and len(queries) <= 3  # the lookup, last use; nothing of the window
    assert not TokenUsage.objects.exists() and not TokenNetwork.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_flusher_thread_writes_the_counts_every_resolution(operator, issue, settings):
    settings.TOKEN_LAST_USED_RESOLUTION = 0.2
    token, _ = issue(operator)
    flusher = pending.Flusher(settings.TOKEN_LAST_USED_RESOLUTION)
    flusher.start()
    try:
        usage.record_use(token, "192.0.2.1")
        deadline = time.monotonic() + 10
        # Not read from the database meanwhile: SQLite's shared test database would lock.
        while pending.held():
            assert time.monotonic() < deadline, "the flusher took nothing in 10 s"
            time.sleep(0.05)
    finally:
        flusher.stop()  # lets the flush under way finish
    assert usage.requests_last_30_days(token) == 1
    assert TokenNetwork.objects.get(token=token).baseline


def test_counts_from_several_processes_add_up(issue, operator):
    token, _ = issue(operator)
    now = timezone.now()
    for _ in range(2):  # each "process" flushes its own pending count
        usage.record_use(token, None, now=now)
        pending.flush_all(now=now)
        pending.forget()
    assert usage.requests_last_30_days(token) == 2


@pytest.mark.parametrize("failing", ["pending._write_counts", "sightings.note"])
def test_a_failed_flush_keeps_what_it_had_not_written_for_the_next(
    issue, operator, monkeypatch, caplog, failing
):
    token, _ = issue(operator)
    for address in ("192.0.2.1", "203.0.113.1", "192.0.2.1"):
        usage.record_use(token, address)
    module, name = failing.split(".")

    def down(*args, **kwargs):
        raise DatabaseError("connection to server at 10.0.0.5 failed: secret-looking detail")

    with monkeypatch.context() as patch:
        patch.setattr({"pending": pending, "sightings": sightings}[module], name, down)
        assert pending.flush_all() is False
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "DatabaseError" in warning.getMessage() and "10.0.0.5" not in warning.getMessage()

    usage.record_use(token, "192.0.2.2")  # a call meanwhile
    assert pending.flush_all() is True
    assert usage.requests_last_30_days(token) == 4  # none lost, none written twice
    assert TokenClientAddress.objects.filter(token=token).count() == 3
    assert TokenNetwork.objects.filter(token=token).count() == 2


def test_a_flush_writes_its_budget_of_addresses_and_keeps_the_rest(issue, operator, monkeypatch):
    monkeypatch.setattr(pending, "FLUSH_ADDRESSES", 10)
    busy, _ = issue(operator, name="seen from everywhere")
    quiet, _ = issue(operator, name="one address")
    usage.record_use(quiet, "198.51.100.1")
    for n in range(25):
        usage.record_use(busy, f"10.0.{n}.1")
    assert pending.flush() is True
    # Every count, the token with the fewest addresses first, then the busy one's earliest.
    assert usage.requests_last_30_days(busy) == 25 and usage.requests_last_30_days(quiet) == 1
    assert TokenClientAddress.objects.filter(token=quiet).exists()
    assert TokenClientAddress.objects.filter(token=busy).count() == 9
    assert TokenNetwork.objects.get(token=busy, baseline=True).network == "10.0.0.0/24"
    assert pending.flush_all() is True
    assert TokenClientAddress.objects.filter(token=busy).count() == 25
    assert usage.requests_last_30_days(busy) == 25


def test_past_its_bound_the_buffer_drops_addresses_but_counts_calls(
    issue, operator, monkeypatch, caplog
):
    monkeypatch.setattr(pending, "MAX_ADDRESSES", 5)
    token, _ = issue(operator)
    for n in range(8):
        usage.record_use(token, f"10.0.{n}.1")
    assert pending.flush_all() is True
    assert usage.requests_last_30_days(token) == 8
    assert TokenClientAddress.objects.filter(token=token).count() == 5
    assert "3 client address(es) not kept" in caplog.text


def test_only_the_last_30_days_count(issue, operator):
    token, _ = issue(operator)
    today = timezone.now().date()
    TokenUsage.objects.create(token=token, day=today - timedelta(days=29), requests=5)
    TokenUsage.objects.create(token=token, day=today - timedelta(days=30), requests=7)
    assert usage.requests_last_30_days(token) == 5


def test_the_detail_page_shows_usage_and_history(signed_in, issue, operator):
    token, secret = issue(operator, name="CI")
    api_client(secret).get("/api/v1/me/", REMOTE_ADDR="192.0.2.55")
    pending.flush_all()
    html = signed_in(operator).get(f"/settings/security-extensions/api-tokens/{token.pk}/")
    body = html.content.decode()
    assert "192.0.2.55" in body and "Token generated" in body
    assert '<p class="stat">1</p>' in body


def test_the_detail_page_follows_visibility(signed_in, issue, operator, reader):
    token, _ = issue(operator)
    assert (
        signed_in(reader).get(f"/settings/security-extensions/api-tokens/{token.pk}/").status_code
        == 404
    )
