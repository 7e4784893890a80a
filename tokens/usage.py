"""Bounded-write bookkeeping of token use: last use, daily request counts, client addresses.

Nothing here writes per request. Last use is written when the stored one is older than
TOKEN_LAST_USED_RESOLUTION (so a new token turns Active on its first call); each process
counts requests and addresses in memory and writes them once its window of that length is
over. Counts still in memory when a worker is killed are lost; the 30-day figure is a usage
indicator, not billing.
"""

import atexit
import contextlib
import threading
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Q, Sum
from django.utils import timezone

from web import invalidation

from .models import Token, TokenClientAddress, TokenUsage

_lock = threading.Lock()
_pending = {}  # token pk -> [request count, {address: last seen}]
_flushed_at = {}  # token pk -> when this process last wrote its counts


def resolution():
    return timedelta(seconds=settings.TOKEN_LAST_USED_RESOLUTION)


def record_use(token, client_ip=None, now=None):
    """Note one authenticated call with token. Writes last use when the stored one is older
    than the resolution (so the first call turns a token Active at once), and this process's
    request counts and addresses once per resolution; otherwise writes nothing."""
    now = now or timezone.now()
    window = resolution()
    if token.last_used_at is None or token.last_used_at <= now - window:
        _write_last_use(token, now)
    due = []
    with _lock:
        pending = _pending.setdefault(token.pk, [0, {}])
        pending[0] += 1
        if client_ip:
            pending[1][client_ip] = now
        started = _flushed_at.setdefault(token.pk, now)
        if now - started >= window:
            # Flush every token of this process whose window is over, not only this one, so
            # counts of a script that went quiet are written by the next call of any token.
            for pk, since in list(_flushed_at.items()):
                if now - since >= window and pk in _pending:
                    due.append((pk, _pending.pop(pk)))
                    _flushed_at[pk] = now
    for pk, counts in due:
        _write_counts(pk, counts, now)


def _write_last_use(token, now):
    # Conditional, so that of several processes only one writes per resolution, and last use
    # never moves backwards. The cached copy is advanced either way, which is what keeps this
    # process from trying again until the resolution has passed.
    first_use = token.last_used_at is None
    updated = (
        Token.objects.filter(pk=token.pk)
        .filter(Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - resolution()))
        .update(last_used_at=now)
    )
    token.last_used_at = now
    if updated and first_use:
        # Generated -> Active: the counts change, no cached token does.
        invalidation.announce(token.tenant_id, invalidation.COUNTS)


def _write_counts(token_pk, counts, now):
    requests, addresses = counts
    usage, address_table = TokenUsage._meta.db_table, TokenClientAddress._meta.db_table
    with connection.cursor() as cursor:
        # One upsert each, the same SQL on SQLite and PostgreSQL.
        cursor.execute(
            f"INSERT INTO {usage} (token_id, day, requests) VALUES (%s, %s, %s) "  # noqa: S608
            f"ON CONFLICT (token_id, day) DO UPDATE SET requests = {usage}.requests + "
            "excluded.requests",
            [_db_id(token_pk), now.date(), requests],
        )
        for address, seen in addresses.items():
            cursor.execute(
                f"INSERT INTO {address_table} (token_id, address, last_seen_at) "  # noqa: S608
                "VALUES (%s, %s, %s) ON CONFLICT (token_id, address) DO UPDATE SET "
                "last_seen_at = excluded.last_seen_at",
                [_db_id(token_pk), address, seen],
            )


def _db_id(token_pk):
    return Token._meta.pk.get_db_prep_value(token_pk, connection)


def flush_all(now=None):
    """Write every pending count of this process (worker exit, tests)."""
    now = now or timezone.now()
    with _lock:
        pending = dict(_pending)
        _pending.clear()
    for token_pk, counts in pending.items():
        _write_counts(token_pk, counts, now)


def forget():
    """Drop this process's pending counts and timers (tests)."""
    with _lock:
        _pending.clear()
        _flushed_at.clear()


@atexit.register
def _flush_on_exit():
    with contextlib.suppress(Exception):  # the database may be gone at interpreter exit
        flush_all()


COUNTED_DAYS = 30


def _first_counted_day(now=None):
    return (now or timezone.now()).date() - timedelta(days=COUNTED_DAYS - 1)


def requests_last_30_days(token, now=None):
    since = _first_counted_day(now)
    total = token.usage_days.filter(day__gte=since).aggregate(total=Sum("requests"))["total"]
    return total or 0


def counts_catching_up(token, now=None):
    """Whether the token's last use is newer than the counts written so far: its last use is
    written on the call itself, its counts and addresses only when a process flushes them
    (record_use), so for a while a used token can show no count for the day of its last use.
    Pages say the counts are catching up then, rather than "not used"."""
    last_used = token.last_used_at
    if last_used is None or last_used.date() < _first_counted_day(now):
        return False
    return not token.usage_days.filter(day__gte=last_used.date()).exists()


def recent_addresses(token, limit=5):
    return list(token.client_addresses.order_by("-last_seen_at")[:limit])
