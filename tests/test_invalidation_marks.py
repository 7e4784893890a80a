"""How a write knows every host heard it (web.invalidation, issue 26 item 5), PostgreSQL only:
one notification per write carrying a mark taken in commit order, and the older protocol kept
for a listener of the previous release while a rollout runs."""

import threading
import time
from datetime import timedelta

import psycopg
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from web import invalidation
from web.models import CacheListener

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("marks are how PostgreSQL's listeners acknowledge")
    assert invalidation.wait_until_caching()


def session():
    return psycopg.connect(**invalidation._listener_params(), autocommit=True)


def last_order():
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT last_value FROM {invalidation.ORDER}")  # noqa: S608
        return cursor.fetchone()[0]


def heard(listening, payloads, until):
    """Notifications on the channel until one for which until(payload) holds."""
    for notify in listening.notifies(timeout=5):
        payloads.append(notify.payload)
        if until(notify.payload):
            return payloads
    return payloads


def test_a_mark_waits_for_the_commit_of_the_write_marked_before_it():
    with session() as first, session() as second:
        first.execute("BEGIN")
        earlier = invalidation.Postgres().mark(first.cursor())
        taken = {}

        def later():
            with second.transaction():
                taken["mark"] = invalidation.Postgres().mark(second.cursor())

        thread = threading.Thread(target=later)
        thread.start()
        thread.join(0.3)
        assert thread.is_alive(), "the second mark did not wait for the first write's commit"
        assert last_order() == earlier  # and took no number while it waited
        first.execute("COMMIT")
        thread.join(5)
        assert taken["mark"] > earlier


def test_a_write_notifies_its_mark_with_it_and_no_mark_after_its_commit(tenant):
    with session() as listening:
        listening.execute(f"LISTEN {invalidation.CHANNEL}")
        with transaction.atomic():
            invalidation.announce(tenant.pk)
        payloads = heard(listening, [], lambda payload: payload.startswith("k:"))
        listening.execute("SELECT 1")  # anything sent after the write's transaction arrives
        payloads += [notify.payload for notify in listening.notifies(timeout=0.2)]
    assert payloads[:2] == [f"a:{tenant.pk}", f"k:{last_order()}"]
    assert not [payload for payload in payloads if payload.startswith("m:")]


def test_the_mark_is_the_last_statement_before_the_commit(tenant):
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        invalidation.announce(tenant.pk)
        CacheListener.objects.filter(pk=0).update(acked=0)  # a statement after announce
    statements = [query["sql"] for query in queries]
    marked = next(n for n, sql in enumerate(statements) if invalidation.ORDER in sql)
    assert "UPDATE" in statements[marked - 1]
    # Then the commit, and the writer's wait for the listeners.
    assert statements[marked + 1] == "COMMIT"
    assert all(invalidation.LISTENERS in sql for sql in statements[marked + 2 :])


def test_a_rolled_back_write_takes_no_mark(tenant):
    before = last_order()
    with pytest.raises(RuntimeError), transaction.atomic():
        invalidation.announce(tenant.pk)
        raise RuntimeError
    with transaction.atomic():
        CacheListener.objects.filter(pk=0).update(acked=0)
    assert last_order() == before


def slow_listener(kind, column, *, ordered):
    """A listener that acknowledges the first mark of `kind` it hears 0.2 s late, in a thread;
    what it acknowledged, and when."""
    acknowledged = []
    conn = session()
    conn.execute(f"LISTEN {invalidation.CHANNEL}")
    pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    row = CacheListener.objects.create(
        host="slow",
        pid=1,
        backend_pid=pid,
        acked=0,
        lease_until=timezone.now() + timedelta(seconds=60),
        ordered=ordered,
    )

    def acknowledge():
        with conn:
            payloads = heard(conn, [], lambda payload: payload.startswith(f"{kind}:"))
            if payloads and payloads[-1].startswith(f"{kind}:"):
                mark = int(payloads[-1].partition(":")[2])
                time.sleep(0.2)
                conn.execute(
                    f"UPDATE {invalidation.LISTENERS} SET {column} = %s WHERE id = %s",  # noqa: S608
                    [mark, row.pk],
                )
                acknowledged.append((mark, time.monotonic()))

    thread = threading.Thread(target=acknowledge)
    thread.start()
    return thread, acknowledged


@pytest.mark.parametrize(
    ("kind", "column", "ordered"),
    [
        # This release's listeners: the mark the write's own notification carries.
        ("k", "acked_ordered", True),
        # 0.1.0's, during a rollout: they acknowledge only "m:" marks, taken after a commit.
        ("m", "acked", False),
    ],
    ids=["this release's listener", "a listener of the previous release"],
)
def test_a_write_returns_once_every_listener_has_acknowledged_its_mark(
    tenant, kind, column, ordered
):
    thread, acknowledged = slow_listener(kind, column, ordered=ordered)
    with transaction.atomic():
        invalidation.announce(tenant.pk)
    returned = time.monotonic()
    thread.join(5)
    assert acknowledged, f"the listener heard no {kind}: mark"
    mark, at = acknowledged[0]
    if ordered:
        assert mark == last_order()
    assert returned >= at  # the write waited for it


def test_a_write_outside_a_transaction_is_marked_after_it_and_waited_for(tenant):
    thread, acknowledged = slow_listener("k", "acked_ordered", ordered=True)
    invalidation.announce(tenant.pk)  # autocommit: no before_commit
    returned = time.monotonic()
    thread.join(5)
    assert acknowledged, "an autocommit write took no mark"
    mark, at = acknowledged[0]
    assert mark == last_order()
    assert returned >= at
