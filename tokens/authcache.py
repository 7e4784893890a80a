"""A per-process cache of verified tokens that a revocation empties on every process at once.

Every change that could make a cached answer wrong (a token revoked or rotated, a user
deprovisioned or given another role, any admin edit) calls invalidate(), which bumps a
counter in a small memory-mapped file shared by every process on the host. Each request reads
that counter (a memory read, no system call) and drops the whole cache when it moved, so a
revocation takes effect on the very next request in every worker.

The counter is read before a token is loaded from the database and bumped after the change
commits, so a row read before the commit is never kept under the new count. The file is
per host: with web processes on several hosts set TOKEN_CACHE=off (docs/scaling.md).

The same file holds a second counter for the token counts of tokens.counts: every invalidate()
moves it too, and counts_changed() moves it alone, for a change that alters counts but no
authentication decision (a token's first use).
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
VERSION_KEY = "tokens:counts-version"
AUTH, COUNTS = 0, 1  # the two counters of the shared file

_entries = {}
_seen_epoch = None
_epoch = None
_epoch_lock = threading.Lock()


class SharedEpoch:
    """8-byte counters in a file mapped into every process that opens it."""

    SLOTS = 2

    def __init__(self, path):
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if os.fstat(self._fd).st_size < 8 * self.SLOTS:
            os.ftruncate(self._fd, 8 * self.SLOTS)
        self._map = mmap.mmap(self._fd, 8 * self.SLOTS)

    def read(self, slot=AUTH):
        return int.from_bytes(self._map[8 * slot : 8 * slot + 8], "little")

    def bump(self, *slots):
        fcntl.flock(self._fd, fcntl.LOCK_EX)  # bumps from several processes never collide
        try:
            for slot in slots or (AUTH,):
                self._map[8 * slot : 8 * slot + 8] = (self.read(slot) + 1).to_bytes(8, "little")
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


def counts_version():
    """A number that changes whenever token counts may have changed (tokens.counts keys on
    it): the shared counter on this host, else a counter in Django's cache."""
    if enabled():
        return _shared_epoch().read(COUNTS)
    return cache.get(VERSION_KEY, 0)


def _bump_everything():
    _entries.clear()
    _bump_counts(also=AUTH)


def _bump_counts(also=None):
    if enabled():
        _shared_epoch().bump(COUNTS, *([] if also is None else [also]))
    else:
        cache.add(VERSION_KEY, 0)
        cache.incr(VERSION_KEY)


def _twice(bump):
    bump()
    # Inside a transaction another process could reload the old row before the commit and
    # keep it under the new count; the second bump after the commit clears that copy too.
    transaction.on_commit(bump)


def invalidate():
    """Make every process forget its cached tokens and counts, now and once the change
    commits."""
    _twice(_bump_everything)


def counts_changed():
    """Make every process count tokens again, leaving its cached tokens alone."""
    _twice(_bump_counts)


def clear_local():
    """Forget this process's cache (tests)."""
    _entries.clear()
