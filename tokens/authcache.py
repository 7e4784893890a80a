"""A per-process cache of verified tokens that a revocation empties on every process at once.

Every change that could make a cached answer wrong (a token revoked or rotated, a user
deprovisioned or given another role, any admin edit) calls invalidate(), which bumps a
counter in a small memory-mapped file shared by every process on the host. Each request reads
that counter (a memory read, no system call) and drops the whole cache when it moved, so a
revocation takes effect on the very next request in every worker.

The counter is read before a token is loaded from the database and bumped after the change
commits, so a row read before the commit is never kept under the new count. The file is
per host: with web processes on several hosts set TOKEN_CACHE=off (docs/scaling.md).
"""

import fcntl
import mmap
import os
import threading
import time

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

MAX_ENTRIES = 10_000
# An entry is reloaded after this long even if no bump arrived: the bound on staleness should a
# process die between a commit and its bump.
MAX_AGE = 60.0
VERSION_KEY = "tokens:auth-version"

_entries = {}
_seen_epoch = None
_epoch = None
_epoch_lock = threading.Lock()


class SharedEpoch:
    """An 8-byte counter in a file mapped into every process that opens it."""

    def __init__(self, path):
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if os.fstat(self._fd).st_size < 8:
            os.ftruncate(self._fd, 8)
        self._map = mmap.mmap(self._fd, 8)

    def read(self):
        return int.from_bytes(self._map[:8], "little")

    def bump(self):
        fcntl.flock(self._fd, fcntl.LOCK_EX)  # bumps from several processes never collide
        try:
            self._map[:8] = (self.read() + 1).to_bytes(8, "little")
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)


def _shared_epoch():
    global _epoch
    if _epoch is None:
        with _epoch_lock:
            if _epoch is None:
                _epoch = SharedEpoch(settings.TOKEN_CACHE_EPOCH_FILE)
    return _epoch


def enabled():
    return settings.TOKEN_CACHE == "local"


def lookup(digest, load):
    """The token for digest from this process's cache, else load(digest) (then cached)."""
    global _seen_epoch
    if not enabled():
        return load(digest)
    epoch = _shared_epoch().read()
    if epoch != _seen_epoch:
        _entries.clear()
        _seen_epoch = epoch
    entry = _entries.get(digest)
    now = time.monotonic()
    if entry is not None and entry[1] > now:
        return entry[0]
    token = load(digest)
    if token is not None:
        if len(_entries) >= MAX_ENTRIES:
            _entries.clear()
        _entries[digest] = (token, now + MAX_AGE)
    return token


def version():
    """A number that changes whenever invalidate() runs (other caches key on it): the shared
    epoch on this host, else a counter in Django's cache."""
    if enabled():
        return _shared_epoch().read()
    return cache.get(VERSION_KEY, 0)


def _bump():
    _entries.clear()
    if enabled():
        _shared_epoch().bump()
    else:
        cache.add(VERSION_KEY, 0)
        cache.incr(VERSION_KEY)


def invalidate():
    """Make every process forget its cached tokens, now and again once the change commits."""
    _bump()
    # Inside a transaction another process could reload the old row before the commit and
    # keep it under the new count; the second bump after the commit clears that copy too.
    transaction.on_commit(_bump)


def clear_local():
    """Forget this process's cache (tests)."""
    _entries.clear()
