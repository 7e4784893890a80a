"""A per-process cache that keeps its most recently used entries (tokens.authcache,
tokens.counts).

Emptying a full cache at once sent every call of a worker with more tokens in use than the
cache holds down the cold path; evicting the least recently used entry keeps the busy tokens
cached (docs/performance.md, part 9). cachetools.LRUCache does the bookkeeping; the lock is
ours, because its caches are not thread-safe and a worker may run GUNICORN_THREADS threads.
"""

import threading

from cachetools import LRUCache


class LRU:
    def __init__(self, size):
        self._entries = LRUCache(maxsize=size)
        self._lock = threading.Lock()

    def __len__(self):
        return len(self._entries)

    def get(self, key):
        """The entry for key, now the most recently used; None when it is not cached."""
        with self._lock:
            return self._entries.get(key)

    def put(self, key, value):
        """Keep value under key; when full, the least recently used entry makes room."""
        with self._lock:
            self._entries[key] = value

    def clear(self):
        with self._lock:
            self._entries.clear()
