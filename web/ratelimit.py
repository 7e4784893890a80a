"""Fixed-window rate limits that every worker and host counts together (CONTRACT §10).

Counts live in Redis when CACHE_URL points at one, else in the database (RateLimitCount):
never in process memory, where each gunicorn worker would grant the limit again. While Redis
is unreachable the database counts instead, so a call is never refused or waved through
because Redis is down.

What a process does keep in memory is only stricter than the shared count: once it has seen
a client reach its limit, it answers "blocked until the window ends" without counting again,
so refused calls cost no write.
"""

import hashlib
import logging
import threading
import time
from ipaddress import ip_address, ip_network
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from django.db.models import Subquery
from redis.exceptions import RedisError

from .models import RateLimitCount

logger = logging.getLogger(__name__)

# Seconds between two tries of an unreachable Redis: each try may cost a request the socket
# timeout (portal.settings.REDIS_TIMEOUT), so a dead Redis is not asked on every call.
REDIS_RETRY_AFTER = 5.0
# Seconds between two sweeps of ended windows by one process, and rows deleted per sweep:
# bounded so a sweep after a flood never holds SQLite's write lock for long.
SWEEP_EVERY = 60.0
SWEEP_BATCH = 1000
# Clients remembered as blocked per process; past this the memo starts again (which only
# costs writes, never lets a call through: the shared count still decides).
MEMO_MAX = 10_000

_blocked = {}  # (scope, digest, limit, window) -> Unix second the window ends
_lock = threading.Lock()
_redis_down_until = None  # monotonic time of the next try while Redis is unreachable
_next_sweep = 0.0
_counted_since_sweep = 0  # database counts since this process last swept


def address_key(address):
    """A client address as a rate-limit key: an IPv6 client by its /64, the block one
    subscriber is given and may rotate through at will (review 3, findings 5 and 8), an IPv4
    one by itself (an IPv4-mapped address as its IPv4 address); "unknown" for none."""
    if not address:
        return "unknown"
    try:
        parsed = ip_address(address)
    except ValueError:
        return "unknown"
    if parsed.version == 4:
        return str(parsed)
    if parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    return str(ip_network(f"{parsed}/64", strict=False))


def hit(scope, key, *, limit, window, on_limit=None):
    """Count one event; return seconds to wait once over the limit, else 0. on_limit: called
    by the one event, of every worker and host, that brings the count to the limit (to
    record a lock-out once)."""
    digest, start, end = _window(key, window)
    memo = (scope, digest, limit, window)
    if _blocked.get(memo, 0) > time.time():
        return _wait(end)  # already at the limit: the shared count can only say the same
    total = _count(scope, digest, start, end)
    if total >= limit:  # the next event is over the limit whatever else happens
        _remember(memo, end)
        if total == limit and on_limit is not None:
            on_limit()
    return _wait(end) if total > limit else 0


def retry_after(scope, key, *, limit, window):
    """Seconds to wait when (scope, key) is over its limit, else 0; counts nothing."""
    digest, start, end = _window(key, window)
    if _blocked.get((scope, digest, limit, window), 0) > time.time():
        return _wait(end)
    return _wait(end) if _read(scope, digest, start) >= limit else 0


def forget():
    """Drop this process's memory (tests start each case as a fresh worker)."""
    global _redis_down_until, _next_sweep, _counted_since_sweep
    _blocked.clear()
    _redis_down_until = None
    _next_sweep, _counted_since_sweep = 0.0, 0


def _window(key, window):
    now = int(time.time())
    start = now - now % window
    # Keys hold client input (an e-mail): hashed, any input makes a short, safe key.
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return digest, start, start + window


def _wait(end):
    return max(end - int(time.time()), 1)


def _remember(memo, end):
    if len(_blocked) >= MEMO_MAX:
        now = time.time()
        for item, until in list(_blocked.items()):
            if until <= now:
                _blocked.pop(item, None)
        if len(_blocked) >= MEMO_MAX:
            _blocked.clear()
    _blocked[memo] = end


# -- choosing the store -----------------------------------------------------------------------


def _count(scope, digest, start, end):
    return _redis_else_database(redis_count, database_count, scope, digest, start, end)


def _read(scope, digest, start):
    return _redis_else_database(redis_read, database_read, scope, digest, start)


def _redis_else_database(in_redis, in_database, *args):
    redis = _redis()
    if redis is not None:
        try:
            answer = in_redis(redis, *args)
        except RedisError as error:
            _redis_failed(error)
        else:
            _redis_answered()
            return answer
    return in_database(*args)


def _redis():
    """The Redis cache to count in, or None: not configured, or unreachable a moment ago."""
    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        return None
    if _redis_down_until is not None and time.monotonic() < _redis_down_until:
        return None
    return cache


def _redis_failed(error):
    global _redis_down_until
    with _lock:
        first = _redis_down_until is None
        _redis_down_until = time.monotonic() + REDIS_RETRY_AFTER
    if first:  # one line per outage, not one per call
        logger.warning(
            "Redis at %s is unreachable (%s): rate limits are counted in the database "
            "until it answers",
            _redis_address(),
            type(error).__name__,
        )


def _redis_answered():
    global _redis_down_until
    if _redis_down_until is None:
        return  # the usual case: no lock taken
    with _lock:
        was_down, _redis_down_until = _redis_down_until is not None, None
    if was_down:  # another thread may have logged it already
        logger.info("Redis at %s answers again: rate limits are counted in Redis", _redis_address())


def _redis_address():
    # Host and port only: the URL may carry a password.
    url = urlsplit(settings.CACHES["default"]["LOCATION"])
    return f"{url.hostname}:{url.port or 6379}"


# -- Redis store ------------------------------------------------------------------------------


def _redis_key(cache, scope, digest, start):
    return cache.make_and_validate_key(f"ratelimit:{scope}:{digest}:{start}")


def _redis_client(cache):
    """The raw client of Django's Redis cache, made once per cache object: Django makes one per
    call, which costs more than the round trip (≈0.2 ms with redis-py 8)."""
    client = getattr(cache, "_ratelimit_client", None)
    if client is None:
        client = cache._ratelimit_client = cache._cache.get_client(write=True)
    return client


def redis_count(cache, scope, digest, start, end):
    key = _redis_key(cache, scope, digest, start)
    # One round trip: create the counter with its expiry if missing, then INCR (Django's
    # cache.add + cache.incr would take three). No MULTI needed: INCR is atomic, and the key
    # outlives its window, so it cannot expire between the two commands.
    pipe = _redis_client(cache).pipeline(transaction=False)
    pipe.set(key, 0, ex=end - int(time.time()) + 1, nx=True)
    pipe.incr(key)
    return pipe.execute()[1]


def redis_read(cache, scope, digest, start):
    key = _redis_key(cache, scope, digest, start)
    return int(_redis_client(cache).get(key) or 0)


# -- database store ---------------------------------------------------------------------------


def database_count(scope, digest, start, end):
    """One atomic upsert: concurrent workers each get their own, distinct total."""
    table = connection.ops.quote_name(RateLimitCount._meta.db_table)
    count = connection.ops.quote_name("count")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (scope, digest, window_start, window_end, {count}) "  # noqa: S608
            "VALUES (%s, %s, %s, %s, 1) "
            "ON CONFLICT (scope, digest, window_start) "
            f"DO UPDATE SET {count} = {table}.{count} + 1 RETURNING {count}",
            [scope, digest, start, end],
        )
        total = cursor.fetchone()[0]
    _sweep_now_and_then()
    return total


def database_read(scope, digest, start):
    rows = RateLimitCount.objects.filter(scope=scope, digest=digest, window_start=start)
    return rows.values_list("count", flat=True).first() or 0


def _sweep_now_and_then():
    """Delete up to SWEEP_BATCH ended windows once a minute, and also after every SWEEP_BATCH
    counts: each count inserts at most one row, so the sweep keeps pace with any insert rate
    (review 3, finding 8: once a minute fell behind clients rotating addresses)."""
    global _next_sweep, _counted_since_sweep
    now = time.monotonic()
    _counted_since_sweep += 1
    if now < _next_sweep and _counted_since_sweep < SWEEP_BATCH:
        return
    _next_sweep, _counted_since_sweep = now + SWEEP_EVERY, 0
    ended = RateLimitCount.objects.filter(window_end__lte=int(time.time()))
    RateLimitCount.objects.filter(pk__in=Subquery(ended.values("pk")[:SWEEP_BATCH])).delete()
