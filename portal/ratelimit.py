"""Fixed-window rate limits kept in Django's cache (CACHE_URL; shared by every process when
it points at a shared cache such as Redis, per process with the default local memory)."""

import time

from django.core.cache import cache


def hit(scope, key, *, limit, window):
    """Count one event for (scope, key); return seconds to wait once over the limit, else 0."""
    now = int(time.time())
    start = now - now % window
    cache_key = f"ratelimit:{scope}:{key}:{start}"
    cache.add(cache_key, 0, timeout=window + 1)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # evicted between add and incr
        cache.set(cache_key, 1, timeout=window + 1)
        count = 1
    return (start + window - now) or 1 if count > limit else 0
