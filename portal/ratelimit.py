"""Fixed-window rate limits kept in Django's cache (CACHE_URL: shared by every process when
it points at a shared cache such as Redis or Memcached, per process with the default local
memory cache)."""

import hashlib
import time

from django.core.cache import cache


def _window(scope, key, window):
    now = int(time.time())
    start = now - now % window
    # Keys hold client input (an e-mail): hashed, any input makes a short, safe cache key.
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"ratelimit:{scope}:{digest}:{start}", start + window - now


def retry_after(scope, key, *, limit, window):
    """Seconds to wait when (scope, key) is over its limit, else 0; counts nothing."""
    cache_key, remaining = _window(scope, key, window)
    return max(remaining, 1) if cache.get(cache_key, 0) >= limit else 0


def hit(scope, key, *, limit, window):
    """Count one event; return seconds to wait once over the limit, else 0."""
    cache_key, remaining = _window(scope, key, window)
    cache.add(cache_key, 0, timeout=window + 1)
    try:
        total = cache.incr(cache_key)
    except ValueError:  # evicted between add and incr
        cache.set(cache_key, 1, timeout=window + 1)
        total = 1
    return max(remaining, 1) if total > limit else 0
