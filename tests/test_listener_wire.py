"""A listener's connection spoken to through libpq (web.listening): what it hears, what it
acknowledges, and how it fails. PostgreSQL only."""

import time

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from web import invalidation
from web.listening import SessionWire
from web.models import CacheListener

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("listeners are PostgreSQL's")


@pytest.fixture
def listening():
    with psycopg.connect(**invalidation._listener_params(), autocommit=True) as conn:
        conn.execute(f"LISTEN {invalidation.CHANNEL}")
        yield conn


def test_it_hears_notifications_in_the_order_they_were_sent(listening):
    wire = SessionWire(listening, invalidation.ACK_SQL, timeout=5)
    assert wire.wait(0.05) == []
    with psycopg.connect(**invalidation._listener_params()) as other:
        other.execute("SELECT pg_notify(%s, 'a:7')", [invalidation.CHANNEL])
        other.execute("SELECT pg_notify(%s, 'k:12')", [invalidation.CHANNEL])
        other.commit()
    payloads = []
    deadline = time.monotonic() + 5
    while len(payloads) < 2 and time.monotonic() < deadline:
        payloads += wire.wait(0.1)
    assert payloads == ["a:7", "k:12"]


def test_what_the_connection_took_in_during_a_statement_is_kept_aside_not_lost(listening):
    # A session hears its own notifications, with its statement's answer: psycopg's
    # Connection takes them from libpq's queue, where heard() looks.
    wire = SessionWire(listening, invalidation.ACK_SQL, timeout=5)
    listening.execute(f"NOTIFY {invalidation.CHANNEL}, 'k:41'")
    assert wire.heard() == []
    assert wire.kept_aside() == ["k:41"]


def test_an_acknowledgement_updates_its_row_and_says_how_many(listening):
    row = CacheListener.objects.create(
        host="h", pid=1, backend_pid=1, acked=0, lease_until=timezone.now()
    )
    wire = SessionWire(listening, invalidation.ACK_SQL, timeout=5)
    assert wire.ack(5, 9, invalidation.LEASE, row.pk) == 1
    assert wire.ack(3, 4, invalidation.LEASE, row.pk) == 1  # never backwards
    row.refresh_from_db()
    assert (row.acked, row.acked_ordered) == (5, 9)
    assert wire.ack(5, 9, invalidation.LEASE, row.pk + 1000) == 0  # the row was removed


def test_a_failing_acknowledgement_raises_with_the_servers_words(listening):
    wire = SessionWire(listening, b"UPDATE no_such_table SET x = $1", timeout=5)
    with pytest.raises(psycopg.OperationalError, match='"no_such_table" does not exist'):
        wire.ack(1)


def test_an_acknowledgement_left_unanswered_raises_after_the_timeout(listening):
    wire = SessionWire(listening, b"SELECT pg_sleep($1)", timeout=0.3)
    started = time.monotonic()
    with pytest.raises(psycopg.OperationalError, match="did not answer"):
        wire.ack(0.8)
    assert time.monotonic() - started < 0.8
    assert listening.closed


def test_a_lost_session_raises_instead_of_waiting(listening):
    wire = SessionWire(listening, invalidation.ACK_SQL, timeout=5)
    pid = listening.info.backend_pid
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    with pytest.raises(psycopg.OperationalError):
        for _ in range(50):
            wire.wait(0.1)


def test_a_mark_heard_while_registering_is_acknowledged(monkeypatch):
    """A write that commits just after a listener registers may be heard with the
    registration's own answer; the listener acknowledges it all the same, or that write would
    wait for this host until its time-out."""
    register = invalidation.Listener._register
    mark = 10**12

    def register_after_a_mark(self, conn, wire):
        # The listener's session hears its own notification with this statement's answer,
        # as it would a write's arriving with the registration's COMMIT.
        conn.execute(f"NOTIFY {invalidation.CHANNEL}, 'k:{mark}'")
        return register(self, conn, wire)

    monkeypatch.setattr(invalidation.Listener, "_register", register_after_a_mark)
    # A channel of its own: every other listener of this database would hear the mark too.
    monkeypatch.setattr(invalidation, "CHANNEL", "portal_invalidation_wire_test")
    listener = invalidation.Listener(invalidation.MemoryBoard(), invalidation._listener_params())
    listener.start()
    try:
        deadline = time.monotonic() + 5
        while not CacheListener.objects.filter(pid__gt=0, acked_ordered__gte=mark).exists():
            assert time.monotonic() < deadline, "the mark heard while registering was never acked"
            time.sleep(0.02)
    finally:
        listener.stop()
