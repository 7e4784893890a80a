"""Tell every process on every host, before a write returns, that what it caches about a
tenant is stale.

Plumbing that knows tenant ids and two scopes only: AUTH (who may do what: users, roles,
tokens, the tenant and its policy; it makes COUNTS stale too) and COUNTS (how many tokens
there are, leaving cached tokens alone). The services that change such state call
announce(tenant_id, scope) inside their write's transaction, whichever floor they stand on;
the caches that read the board (tokens.authcache, tokens.counts) stand above.

A process keeps a *board*: a counter of the invalidations it has heard, and for each tenant
the counter's value at the last one. A cache entry is tagged with the counter read before it
was loaded, and is fresh while no invalidation of its tenant has been heard since
(Board.fresh): a revocation in tenant A leaves tenant B's entries alone.

How invalidations reach the other processes depends on the database:

- SQLite, one host by nature: the board is a small memory-mapped file beside the database
  file, so every process that opens the database (gunicorn workers, manage.py commands) reads
  and marks the same board. A mark is a memory write; reading it is a memory read.
- PostgreSQL, any number of hosts: a listener thread keeps a board current from
  LISTEN/NOTIFY. Under gunicorn there is one per host, in the master (serve_host), and the
  board is a file every worker of the host maps (HostPostgres), so a write waits for one
  acknowledgement per host and the fleet holds one listener connection per host; any other
  process (a management command that reads, runserver) has its own listener and a board in
  its memory (Postgres). The write's NOTIFY is sent in its transaction,
  so it is delivered exactly when the write commits and never lost. Just before the commit
  (web.postgresql's backend calls before_commit) the writer takes a *mark* and notifies it in
  the same transaction, under a transaction lock every such writer takes, so marks are taken
  in the order their writes commit and heard in that order. After the commit the writer waits
  until every live listener has acknowledged its mark or a later one, so once the write
  returns, the next call on any host is decided on the new state. A listener wakes once per
  write, for the write's notifications and its mark together. A listener that
  cannot reach PostgreSQL stops trusting its process's cache when its lease runs out (LEASE
  seconds after its last successful round trip), and the writers wait for it no longer than
  that: a host that cannot hear invalidations answers from the database, never from a stale
  cache. Nothing is read from a shared store on the hot path.
"""

import contextlib
import fcntl
import logging
import mmap
import os
import socket
import tempfile
import threading
import time

import environ
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, transaction

from .listening import SessionWire

logger = logging.getLogger(__name__)

AUTH, COUNTS = "a", "c"  # what a write makes stale: authentication (and counts), or counts only
CHANNEL = "portal_invalidation"
MARKS = "portal_invalidation_mark"  # marks taken after a commit, for 0.1.0's listeners
ORDER = "portal_invalidation_order"  # marks taken just before a commit, in commit order
# The transaction lock (pg_advisory_xact_lock) a writer holds from taking its ordered mark to
# its commit: the next writer's mark waits until this one has committed.
ORDER_LOCK = 0x706F7274616C  # "portal"
UNMARKED = 2**62  # no unordered mark taken: every listener of the older kind is waited for
LISTENERS = "tokens_cachelistener"  # web.models.CacheListener
HEARTBEAT = 2.0  # seconds between a listener's lease renewals, at least two per lease
LEASE = 5.0  # how long a renewal lets a process trust its cache, and writers wait at most
MARGIN = 0.5  # taken off the lease on the process's side, for clock-rate drift
STOP_CHECK = 0.1  # how often a waiting listener looks whether its process is stopping
LIVENESS = 0.05  # how long a writer waits before asking which listeners' sessions are open
# A writer's pause between its looks at the acknowledgements, and after LIVENESS at most.
# Measured side by side against pauses doubling from 0.5 to 2 ms (docs/performance.md, "Fleet
# growth"): the p95 of a revocation at 16 hosts 0.7 and 1.5 ms lower.
SETTLE_PAUSE = 0.0005
SETTLE_PAUSE_MAX = 0.01
# A listener's acknowledgement (its lease renewed with it): once per host per write, through
# web.listening, with libpq's numbered parameters.
ACK_SQL = (
    f"UPDATE {LISTENERS} SET acked = GREATEST(acked, $1), "  # noqa: S608
    "acked_ordered = GREATEST(acked_ordered, $2), "
    "lease_until = now() + make_interval(secs => $3) WHERE id = $4"
).encode()


class MemoryBoard:
    """One process's board, marked by its own writes and by its listener thread."""

    def __init__(self):
        self._lock = threading.Lock()
        self._heard = 0
        self._marks = {AUTH: {}, COUNTS: {}}
        self._everything = 0
        self._trusted_until = 0.0

    def tag(self):
        return self._heard

    def trust(self, until):
        """Until when (time.monotonic()) the process may answer from its caches."""
        self._trusted_until = until

    def trusted_until(self):
        return self._trusted_until

    def fresh(self, tenant_id, tag, scope=AUTH):
        return self._everything <= tag and self._marks[scope].get(tenant_id, 0) <= tag

    def mark(self, tenant_id, scope=AUTH):
        with self._lock:
            self._heard += 1
            if tenant_id is None:
                self._everything = self._heard
                return
            self._marks[COUNTS][tenant_id] = self._heard
            if scope == AUTH:
                self._marks[AUTH][tenant_id] = self._heard


class FileBoard:
    """A board in a memory-mapped file that every process opening it shares (SQLite)."""

    BUCKETS = 256  # tenants share a bucket beyond this: a mark then also reloads the others
    HEARD, EVERYTHING, FIRST = 0, 1, 2
    # After the buckets, so that a file of an older release reads the same: until when, in
    # microseconds of time.monotonic() (one clock for every process of the machine), the
    # processes sharing the board may trust it (a host's listener writes it).
    TRUST = FIRST + 2 * BUCKETS

    def __init__(self, path):
        # Owner-only, and never through a symbolic link someone planted at the path.
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        size = 8 * (self.TRUST + 1)
        if os.fstat(self._fd).st_size < size:
            os.ftruncate(self._fd, size)
        self._map = mmap.mmap(self._fd, size)

    def _read(self, slot):
        return int.from_bytes(self._map[8 * slot : 8 * slot + 8], "little")

    def _write(self, slot, value):
        self._map[8 * slot : 8 * slot + 8] = value.to_bytes(8, "little")

    def _slot(self, tenant_id, scope):
        return self.FIRST + (self.BUCKETS if scope == COUNTS else 0) + tenant_id % self.BUCKETS

    def tag(self):
        return self._read(self.HEARD)

    def trust(self, until):
        self._write(self.TRUST, max(int(until * 1_000_000), 0))

    def trusted_until(self):
        return self._read(self.TRUST) / 1_000_000

    def fresh(self, tenant_id, tag, scope=AUTH):
        return (
            self._read(self.EVERYTHING) <= tag and self._read(self._slot(tenant_id, scope)) <= tag
        )

    def mark(self, tenant_id, scope=AUTH):
        fcntl.flock(self._fd, fcntl.LOCK_EX)  # marks from several processes never collide
        try:
            heard = self._read(self.HEARD) + 1
            self._write(self.HEARD, heard)
            if tenant_id is None:
                self._write(self.EVERYTHING, heard)
                return
            self._write(self._slot(tenant_id, COUNTS), heard)
            if scope == AUTH:
                self._write(self._slot(tenant_id, AUTH), heard)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)


class Local:
    """SQLite: the board is all there is; a mark is seen by every process at once."""

    marks = False  # nothing to wait for: no mark is taken

    def __init__(self, board):
        self.board = board

    def trusted(self):
        return True

    def notify(self, tenant_id, scope):
        pass

    def settle(self, order):
        pass

    def stop(self):
        pass


class Deaf(Local):
    """A database with no way to hear other processes: never answer from a cache."""

    def trusted(self):
        return False


class Postgres:
    """PostgreSQL: NOTIFY in the write's transaction, a listener thread per process, and a
    mark the writer waits on once the write has committed."""

    marks = True

    def __init__(self):
        self.board = MemoryBoard()
        self.listener = None
        self._starting = threading.Lock()

    def trusted(self):
        if self.listener is None:
            # Started by the first reader only: a process that only writes (a management
            # command) needs no listener.
            with self._starting:
                if self.listener is None:
                    self.listener = Listener(self.board, _listener_params())
                    self.listener.start()
        return time.monotonic() < self.board.trusted_until()

    def notify(self, tenant_id, scope):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_notify(%s, %s)", [CHANNEL, f"{scope}:{_tenant_text(tenant_id)}"]
            )

    def mark(self, cursor):
        """Take the next ordered mark and notify it, in the cursor's transaction: the lock
        (taken first, held to the commit) makes the next writer's mark wait for this commit,
        so a listener that has heard a mark has heard every write marked before it."""
        cursor.execute(
            "SELECT n, pg_notify(%s, 'k:' || n) "  # noqa: S608
            f"FROM (SELECT nextval('{ORDER}') AS n WHERE pg_advisory_xact_lock(%s) IS NOT NULL) m",
            [CHANNEL, ORDER_LOCK],
        )
        return cursor.fetchone()[0]

    def settle(self, order):
        """Wait until every live listener has heard the committed write that took the
        ordered mark `order` (before_commit), and so every one marked before it."""
        if connection.in_atomic_block:
            return  # still inside an outer transaction (tests): nothing was delivered yet
        with connection.cursor() as cursor:
            unordered = None  # a mark taken after the commit, for listeners of 0.1.0
            started = time.monotonic()
            deadline = started + LEASE + 1
            pause = SETTLE_PAUSE
            while True:
                # Whether a listener's session is still open is asked of pg_stat_activity,
                # which costs several times the rest of the query, so only once the wait is
                # longer than a live host's acknowledgement takes: a host killed without
                # removing its row then costs a write LIVENESS seconds, not its whole lease.
                alive = time.monotonic() - started > LIVENESS
                cursor.execute(
                    "SELECT count(*) FILTER (WHERE ordered AND acked_ordered < %s), "  # noqa: S608
                    f"count(*) FILTER (WHERE NOT ordered AND acked < %s) FROM {LISTENERS} "
                    "WHERE lease_until > now()"
                    + (" AND backend_pid IN (SELECT pid FROM pg_stat_activity)" if alive else ""),
                    [order, UNMARKED if unordered is None else unordered],
                )
                waiting, older = cursor.fetchone()
                if older and unordered is None:
                    unordered = self._unordered_mark(cursor)
                    continue
                if not waiting and not older:
                    return
                if time.monotonic() > deadline:
                    logger.warning(
                        "%d cache listener(s) did not acknowledge in time", waiting + older
                    )
                    return
                time.sleep(pause)
                # Short and even while live hosts' acknowledgements are due (a few ms): the
                # write returns within one pause of the last. Longer once only a host that
                # cannot answer is waited for, up to its lease.
                if alive:
                    pause = min(pause * 2, SETTLE_PAUSE_MAX)

    @staticmethod
    def _unordered_mark(cursor):
        # While a listener of 0.1.0 serves (a rollout), which acknowledges only these: a mark
        # taken after the commit, so one that has heard it has heard the write before it. Its
        # transaction need not wait for the disk: it carries no data, and after a crash of
        # PostgreSQL every listener reconnects and forgets its cache.
        cursor.execute(
            "SELECT n, pg_notify(%s, 'm:' || n), "  # noqa: S608
            "set_config('synchronous_commit', 'off', true) "
            f"FROM (SELECT nextval('{MARKS}') AS n) m",
            [CHANNEL],
        )
        return cursor.fetchone()[0]

    def stop(self):
        if self.listener is not None:
            self.listener.stop()


class HostPostgres(Postgres):
    """PostgreSQL, in a gunicorn worker of a host whose master listens for all its workers
    (serve_host): the board is the host's shared file, kept current and trusted by that one
    listener, so the fleet holds one listener connection and one acknowledgement per host,
    not per worker process (issue 26, item 5). Writing is the same as Postgres's."""

    def __init__(self, path):
        super().__init__()
        self.board = FileBoard(path)

    def trusted(self):
        return time.monotonic() < self.board.trusted_until()

    def stop(self):
        pass  # the host's listener is the master's, and ends with it


# A listener thread logs in a gunicorn master while the master forks workers. A fork while
# the thread is writing a log line leaves the child's copy of the stream's lock held by a
# thread the child does not have (CPython re-creates logging's locks in the child, not the
# stream's), and the new worker hangs at its own first log line: a worker that never served
# was seen in CI, its master's one line the listener's. So the listener logs under a lock
# that every fork of the process takes first.
_no_fork = threading.Lock()
os.register_at_fork(
    before=_no_fork.acquire,
    after_in_parent=_no_fork.release,
    after_in_child=_no_fork.release,
)


class Listener(threading.Thread):
    """Keeps one process's board current from PostgreSQL's notifications."""

    def __init__(self, board, params):
        super().__init__(name="cache-invalidation-listener", daemon=True)
        self.board = board  # it marks it, and says until when it may be trusted
        self.params = params
        self._stopping = threading.Event()
        self._heard_mark = 0
        self._heard_order = 0
        self._outage_logged = False

    def stop(self):
        self._stopping.set()
        self.board.trust(0.0)
        if self.is_alive():
            self.join(HEARTBEAT + 5)  # its session is closed once this returns

    def run(self):
        while not self._stopping.is_set():
            try:
                self._serve()
            except Exception as error:  # noqa: BLE001 - any failure: distrust, retry
                self.board.trust(0.0)
                if not self._outage_logged:
                    with _no_fork:
                        logger.warning(
                            "Cache invalidation listener lost PostgreSQL (%s): this process "
                            "reads tokens from the database until it reconnects.",
                            str(error).strip().splitlines()[0] if str(error).strip() else error,
                        )
                    self._outage_logged = True
                self._stopping.wait(HEARTBEAT)

    def _serve(self):
        import psycopg

        with psycopg.connect(**{"connect_timeout": 5, **self.params}, autocommit=True) as conn:
            # An acknowledgement need not survive a crash of PostgreSQL (the listener then
            # reconnects and forgets its cache): it is not waited on to reach the disk, which
            # is most of what a writer waits for, once per host.
            conn.execute("SET synchronous_commit = off")
            conn.execute(f"LISTEN {CHANNEL}")
            wire = SessionWire(conn, ACK_SQL, timeout=LEASE)
            started = time.monotonic()
            listener_id, acked_order = self._register(conn, wire)
            self._trust_from(started)
            if self._outage_logged:
                with _no_fork:
                    logger.info("Cache invalidation listener is back: caching tokens again.")
                self._outage_logged = False
            acked = self._heard_mark
            self._heard_order = max(self._heard_order, acked_order)
            renewed = started
            while not self._stopping.is_set():
                behind = self._heard_mark > acked or self._heard_order > acked_order
                if not behind:
                    # In short waits, so a process on its way out (a gunicorn master's
                    # on_exit) releases its lease (the DELETE below) at once, not up to a
                    # heartbeat later.
                    wait = HEARTBEAT - (time.monotonic() - renewed)
                    self._hear_all(wire.wait(min(max(wait, 0), STOP_CHECK)))
                behind = self._heard_mark > acked or self._heard_order > acked_order
                if behind or time.monotonic() - renewed >= HEARTBEAT:
                    renewed = time.monotonic()
                    acked, acked_order = self._heard_mark, self._heard_order
                    if wire.ack(acked, acked_order, LEASE, listener_id) == 0:
                        # The row was removed (a flushed test database).
                        listener_id, _ = self._register(conn, wire)
                    # Notifications that arrived with the renewal are heard before trusting.
                    self._hear_all(wire.heard())
                    self._trust_from(renewed)
            with contextlib.suppress(Exception):
                conn.execute(f"DELETE FROM {LISTENERS} WHERE id = %s", [listener_id])  # noqa: S608

    def _hear_all(self, payloads):
        for payload in payloads:
            self._hear(payload)

    def _register(self, conn, wire):
        """Its row, acknowledged up to the marks already taken, and the ordered one."""
        # Under the writers' lock, every ordered mark already taken is of a committed write;
        # an unordered mark is always taken after its write's commit. So every write marked
        # so far has committed, and forgetting the cache after this (below) forgets whatever
        # was loaded before any of them: nothing the writers wait for is left unheard.
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [ORDER_LOCK])
            row = conn.execute(
                f"INSERT INTO {LISTENERS} (host, pid, backend_pid, acked, lease_until, "  # noqa: S608
                "ordered, acked_ordered) "
                "SELECT %s, %s, pg_backend_pid(), "
                "CASE WHEN m.is_called THEN m.last_value ELSE m.last_value - 1 END, "
                "now() + make_interval(secs => %s), true, "
                "CASE WHEN o.is_called THEN o.last_value ELSE o.last_value - 1 END "
                f"FROM {MARKS} m, {ORDER} o RETURNING id, acked_ordered",
                [socket.gethostname()[:100], os.getpid(), LEASE],
            ).fetchone()
        # Whatever was cached before this point may have missed notifications.
        self.board.mark(None)
        # Those the Connection received meanwhile: a mark among them is of a write that
        # committed after the registration, which the writer waits for.
        self._hear_all(wire.kept_aside())
        return row

    def _trust_from(self, sent_at):
        # The lease counts from before the renewal was sent, so it ends here no later than
        # its row says it does in PostgreSQL, where writers look.
        self.board.trust(sent_at + LEASE - MARGIN)

    def _hear(self, payload):
        kind, _, value = payload.partition(":")
        if kind == "m":
            self._heard_mark = max(self._heard_mark, int(value))
        elif kind == "k":
            self._heard_order = max(self._heard_order, int(value))
        elif kind in (AUTH, COUNTS):
            self.board.mark(None if value == "*" else int(value), kind)


def _tenant_text(tenant_id):
    return "*" if tenant_id is None else str(int(tenant_id))


# django-environ's names of a database URL's parts, and libpq's.
_LIBPQ_NAMES = (
    ("NAME", "dbname"),
    ("USER", "user"),
    ("PASSWORD", "password"),
    ("HOST", "host"),
    ("PORT", "port"),
)


def _listener_params():
    """The listener's connection: DATABASE_URL's, or INVALIDATION_DATABASE_URL's (a direct
    one, past a transaction-mode pooler: LISTEN needs a session)."""
    params = connection.get_connection_params()
    # Only what libpq understands: the listener is a plain psycopg connection.
    for key in ("cursor_factory", "context", "prepare_threshold", "server_side_binding"):
        params.pop(key, None)
    if settings.INVALIDATION_DATABASE_URL:
        direct = environ.Env.db_url_config(settings.INVALIDATION_DATABASE_URL)
        for key, name in _LIBPQ_NAMES:
            params.pop(name, None)
            if direct.get(key):
                params[name] = direct[key]
    return params


_channel = None
_channel_lock = threading.Lock()
_pending = threading.local()


def _forget_channel():
    # A forked child shares neither the parent's listener thread nor its connection.
    global _channel
    _channel = None


os.register_at_fork(after_in_child=_forget_channel)


def _sqlite_board():
    name = str(settings.DATABASES["default"]["NAME"])
    if name == ":memory:" or name.startswith("file:memorydb") or "mode=memory" in name:
        return MemoryBoard()  # an in-memory database lives in this process alone
    return FileBoard(f"{name}-invalidation")


def channel():
    """This process's way of hearing and sending invalidations."""
    global _channel
    if _channel is None:
        with _channel_lock:
            if _channel is None:
                vendor = connection.vendor
                if vendor == "sqlite":
                    _channel = Local(_sqlite_board())
                elif vendor == "postgresql" and os.environ.get(HOST_BOARD):
                    _channel = HostPostgres(os.environ[HOST_BOARD])
                elif vendor == "postgresql":
                    _channel = Postgres()
                else:
                    _channel = Deaf(MemoryBoard())
    return _channel


def caching():
    """Whether this process may answer from its caches right now."""
    return settings.TOKEN_CACHE == "on" and channel().trusted()


def board():
    return channel().board


def announce(tenant_id, scope=AUTH):
    """Make every process's cached tokens (AUTH) or counts (COUNTS) of the tenant (None:
    every tenant) stale: at once, when the transaction commits, and before it returns."""
    current = channel()
    current.board.mark(tenant_id, scope)
    current.notify(tenant_id, scope)
    # Marked again after the commit: another process may have reloaded the old row in
    # between and kept it under the first mark.
    if not getattr(_pending, "tenants", None):
        _pending.tenants = set()
    _pending.tenants.add((tenant_id, scope))
    _pending.unmarked = current.marks  # before_commit takes the transaction's mark
    transaction.on_commit(_settle)


def before_commit(db):
    """Take the mark of a transaction that announced, as its last statement (web.postgresql's
    backend, just before it commits): after every other lock the transaction takes, so the
    writers' lock it holds to the commit is never waited for while holding another."""
    _take_mark(db)


def _take_mark(db):
    if db.alias != DEFAULT_DB_ALIAS or not getattr(_pending, "unmarked", False):
        return
    with db.cursor() as cursor:
        _pending.order = channel().mark(cursor)
    _pending.unmarked = False


def forget_pending(db):
    """The transaction rolled back: it has nothing to mark (web.postgresql's backend)."""
    if db.alias == DEFAULT_DB_ALIAS:
        _pending.unmarked = False


def _settle():
    batch, _pending.tenants = getattr(_pending, "tenants", set()), set()
    if not batch:
        return  # an earlier callback of the same commit settled it
    current = channel()
    for tenant_id, scope in batch:
        current.board.mark(tenant_id, scope)
    if connection.in_atomic_block:
        return  # still inside an outer transaction (tests): nothing was delivered yet
    # A write committed without before_commit (autocommit, or another backend) is marked
    # now, in a transaction of its own: after the write's, so in commit order all the same.
    _take_mark(connection)
    order, _pending.order = getattr(_pending, "order", None), None
    current.settle(order)


def start():
    """Start hearing invalidations now (gunicorn's post_fork), not at the first request."""
    if settings.TOKEN_CACHE == "on":
        channel().trusted()


# Set by serve_host in a gunicorn master, and so inherited by every worker it forks: the path
# of the board the master's listener keeps for them.
HOST_BOARD = "PORTAL_HOST_BOARD"
_host_listener = None


def serve_host():
    """Listen for every worker of this host, in the gunicorn master (when_ready): one
    listener thread and one PostgreSQL connection for the host, writing into a board file the
    workers map (HostPostgres). Nothing to do on SQLite (its board is already a shared file)
    or with the cache off."""
    global _host_listener
    if settings.TOKEN_CACHE != "on" or connection.vendor != "postgresql":
        return
    folder = tempfile.mkdtemp(prefix="portal-board-")  # owner-only
    path = os.path.join(folder, "board")
    board = FileBoard(path)
    os.environ[HOST_BOARD] = path
    _host_listener = Listener(board, _listener_params())
    _host_listener.start()


def stop_host():
    """End the host's listener (the master's exit): its row goes, so writers stop waiting for
    this host at once rather than when its lease runs out."""
    global _host_listener
    if _host_listener is not None:
        _host_listener.stop()
        _host_listener = None
    path = os.environ.pop(HOST_BOARD, None)
    if path:
        with contextlib.suppress(OSError):
            os.unlink(path)
            os.rmdir(os.path.dirname(path))


def wait_until_caching(timeout=10.0):
    """Block until this process may use its caches (tests, benchmarks); False on time-out."""
    deadline = time.monotonic() + timeout
    while not caching():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def stop():
    """Stop this process's listener (worker exit, end of a test session)."""
    global _channel
    if _channel is not None:
        _channel.stop()
        _channel = None
