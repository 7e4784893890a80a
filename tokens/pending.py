"""A process's token usage in memory, and the background thread that writes it.

A call only adds to this buffer (tokens.usage.record_use, record_refusal): its token's
request or refused count and, when answered, its client address. No request ever writes it.
A daemon thread per process, "token-usage-flusher", writes it every
TOKEN_LAST_USED_RESOLUTION seconds: started by gunicorn's post_worker_init, else by the first
call after the process started or forked. What is left is written at exit (gunicorn's
worker_exit, atexit).

A flush costs statements per batch of BATCH tokens or addresses, never per token, address or
network: one read of which tokens still exist and one upsert of their day counts per batch of
tokens; one upsert of the addresses and tokens.sightings' few statements per batch of
addresses. It writes every count but at most FLUSH_ADDRESSES addresses, the tokens with the
fewest first (one token seen from everywhere cannot hold back the others); the rest wait for
the next flush.

A flush that fails (the database is down, a statement fails) gives back whatever it had not
written, logs a warning and is tried again at the next tick. The buffer holds at most
MAX_ADDRESSES addresses: past that bound a call's address is dropped (its count is kept) and
the next flush logs how many were. Counts still in memory when a worker is killed are lost:
the 30-day figure is a usage indicator, not billing.
"""

import atexit
import contextlib
import ipaddress
import logging
import os
import threading
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from . import sightings
from .models import Token, TokenClientAddress, TokenUsage

logger = logging.getLogger(__name__)

BATCH = 250  # rows per statement: longer ones cost more to build and plan than they save
FLUSH_ADDRESSES = 20_000  # client addresses written by one flush at most
MAX_ADDRESSES = 50_000  # client addresses held in memory at most (about 10 MB)


@dataclass
class Usage:
    """What this process saw of one token since it last wrote it."""

    requests: int = 0
    refused: int = 0
    addresses: dict = field(default_factory=dict)  # address -> when last seen


class Buffer:
    def __init__(self):
        self.lock = threading.Lock()
        self.tokens = {}  # token pk -> Usage
        self.addresses = 0  # held in all tokens' Usage
        self.dropped = 0  # addresses not kept since the last take, the buffer being full

    def add(self, token_pk, seen, requests=0, refused=0, address=None):
        with self.lock:
            usage = self.tokens.get(token_pk)
            if usage is None:
                usage = self.tokens[token_pk] = Usage()
            usage.requests += requests
            usage.refused += refused
            if address:
                self._keep(usage, address, seen)

    def _keep(self, usage, address, seen):
        if address in usage.addresses:
            usage.addresses[address] = max(usage.addresses[address], seen)
        elif self.addresses < MAX_ADDRESSES:
            usage.addresses[address] = seen
            self.addresses += 1
        else:
            self.dropped += 1

    def take(self, limit):
        """Every token's counts and at most `limit` addresses, of the tokens with the fewest
        first, each token's earliest first (its first network becomes its baseline); the
        rest stays. Also how many addresses were dropped since the last take."""
        with self.lock:  # only swapped under the lock: calls wait for no sorting
            taken, self.tokens = self.tokens, {}
            dropped, self.dropped, self.addresses = self.dropped, 0, 0
        room, rest = limit, {}
        for token_pk, usage in sorted(taken.items(), key=lambda item: len(item[1].addresses)):
            if len(usage.addresses) > room:
                by_time = sorted(usage.addresses.items(), key=lambda item: item[1])
                usage.addresses = dict(by_time[:room])
                rest[token_pk] = Usage(addresses=dict(by_time[room:]))
            room -= len(usage.addresses)
        self.give_back(rest)
        return taken, dropped

    def give_back(self, tokens):
        """Put usage that was not written back, beside what calls added meanwhile."""
        with self.lock:
            for token_pk, usage in tokens.items():
                mine = self.tokens.get(token_pk)
                if mine is None:
                    mine = self.tokens[token_pk] = Usage()
                mine.requests += usage.requests
                mine.refused += usage.refused
                for address, seen in usage.addresses.items():
                    self._keep(mine, address, seen)


_buffer = Buffer()


def add(token_pk, seen, requests=0, refused=0, address=None):
    """Count a call of the token in this process's buffer; never a query."""
    if _flusher is None:
        start()
    _buffer.add(token_pk, seen, requests, refused, address)


def flush(now=None):
    """Write this process's usage once: every count, and at most FLUSH_ADDRESSES addresses
    (the rest stays pending). False when the database failed; nothing unwritten is lost."""
    tokens, dropped = _buffer.take(FLUSH_ADDRESSES)
    if dropped:
        logger.warning(
            "Token usage: %d client address(es) not kept, the buffer holding %d already; "
            "their calls are counted.",
            dropped,
            MAX_ADDRESSES,
        )
    if not tokens:
        return True
    try:
        _write(tokens, now or timezone.now())
    except Exception as error:  # noqa: BLE001 - any failure: keep the usage, try again later
        _buffer.give_back(tokens)
        addresses = sum(len(usage.addresses) for usage in tokens.values())
        # A database error by its class only: its message may quote the rows it was given.
        # Anything else is a bug, worth its traceback.
        logger.warning(
            "Token usage not written (%s): %d token(s) and %d address(es) kept for the next flush.",
            type(error).__name__,
            len(tokens),
            addresses,
            exc_info=not isinstance(error, DatabaseError),
        )
        return False
    return True


def flush_all(now=None):
    """Write everything this process holds, flush after flush (exit, tests); False when a
    flush failed (what it held is still pending)."""
    for _ in range(MAX_ADDRESSES // FLUSH_ADDRESSES + 1):  # enough for a full buffer
        if not flush(now):
            return False
        if not _buffer.tokens:
            break
    return True


def _write(tokens, now):
    """Write tokens' usage; what is written is taken out of tokens as it goes, so that on an
    error tokens holds exactly what is left to write."""
    pks = sorted(tokens)
    for batch in _batches(pks):
        gone = set(batch) - set(Token.objects.filter(pk__in=batch).values_list("pk", flat=True))
        for pk in gone:  # deleted meanwhile: nothing to write, ever
            del tokens[pk]
        rows = [
            (pk, tokens[pk].requests, tokens[pk].refused)
            for pk in batch
            if pk not in gone and (tokens[pk].requests or tokens[pk].refused)
        ]
        _write_counts(rows, now.date())
        for pk, _requests, _refused in rows:
            tokens[pk].requests = tokens[pk].refused = 0
    seen = [
        (pk, address, when)
        for pk in sorted(tokens)
        for address, when in sorted(tokens[pk].addresses.items(), key=lambda item: item[1])
    ]
    for batch in _batches(seen):
        _write_addresses(batch)
        sightings.note(batch, now.date())
        for pk, address, _when in batch:
            del tokens[pk].addresses[address]
    tokens.clear()


def _batches(rows):
    return (rows[start : start + BATCH] for start in range(0, len(rows), BATCH))


def _write_counts(rows, day):
    """One upsert for the day counts of rows (token pk, requests, refused)."""
    if not rows:
        return
    table = TokenUsage._meta.db_table
    values = ", ".join(["(%s, %s, %s, %s)"] * len(rows))
    with connection.cursor() as cursor:
        # Rows in key order, in every process: concurrent upserts lock them in one order.
        cursor.execute(
            f"INSERT INTO {table} (token_id, day, requests, refused) VALUES {values} "  # noqa: S608
            "ON CONFLICT (token_id, day) DO UPDATE SET "
            f"requests = {table}.requests + excluded.requests, "
            f"refused = {table}.refused + excluded.refused",
            [value for pk, *counts in rows for value in (sightings.db_id(pk), day, *counts)],
        )


def _write_addresses(batch):
    """One upsert for the client addresses of batch (token pk, address, when seen)."""
    latest = {}
    for pk, address, when in batch:
        try:  # one spelling per address: an upsert may not meet one row twice
            key = (pk, str(ipaddress.ip_address(address)))
        except ValueError:
            continue
        latest[key] = max(when, latest.get(key, when))
    if not latest:
        return
    table = TokenClientAddress._meta.db_table
    values = ", ".join(["(%s, %s, %s)"] * len(latest))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (token_id, address, last_seen_at) VALUES {values} "  # noqa: S608
            "ON CONFLICT (token_id, address) DO UPDATE SET last_seen_at = excluded.last_seen_at",
            [
                value
                for (pk, address), when in sorted(latest.items())
                for value in (sightings.db_id(pk), address, sightings.db_time(when))
            ],
        )


def held():
    """How many tokens this process holds usage of, not yet written."""
    return len(_buffer.tokens)


def forget():
    """Drop this process's pending usage (tests)."""
    global _buffer
    _buffer = Buffer()


# --- The thread -----------------------------------------------------------------------------


class Flusher(threading.Thread):
    """Writes this process's usage every `interval` seconds, on a connection of its own."""

    def __init__(self, interval):
        super().__init__(name="token-usage-flusher", daemon=True)
        self.interval = interval
        self._stopping = threading.Event()

    def run(self):
        while not self._stopping.wait(self.interval):
            try:
                flush()
            except Exception:  # noqa: BLE001 - the thread must outlive any one flush
                logger.exception("Token usage flush failed.")
            finally:
                # A new connection next time: the database may have restarted meanwhile.
                connection.close()

    def stop(self, timeout=15):  # within gunicorn's graceful_timeout of 20 s
        """Let a flush under way finish (what it took is written or given back)."""
        self._stopping.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)


_flusher = None
_flusher_lock = threading.Lock()
_in_background = True


def start():
    """Start this process's flusher, unless it runs or tests flush by hand."""
    global _flusher
    if not _in_background:
        return
    with _flusher_lock:
        if _flusher is None:
            _flusher = Flusher(settings.TOKEN_LAST_USED_RESOLUTION)
            _flusher.start()


def stop():
    """Stop the flusher and write what is left (worker exit, interpreter exit)."""
    global _flusher
    with _flusher_lock:
        flusher, _flusher = _flusher, None
    if flusher is not None:
        flusher.stop()
    with contextlib.suppress(Exception):  # the database may be gone at interpreter exit
        flush_all()


def flush_by_hand():
    """Never start the thread in this process: tests call flush() and flush_all()."""
    global _in_background
    _in_background = False


def _after_fork_in_child():
    # A child shares neither the parent's thread nor, to be written twice, its usage.
    global _flusher, _flusher_lock
    _flusher, _flusher_lock = None, threading.Lock()
    forget()


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(stop)
