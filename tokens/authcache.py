"""A per-process cache of verified tokens that every write affecting them empties on every
process, on every host, before the write returns (web.invalidation).

An entry is tagged with the invalidation counter read *before* the token was loaded, so a
revocation that commits while the row is being read makes the entry stale at once. Entries are
also reloaded after MAX_AGE seconds, and nothing is cached while this process cannot hear
invalidations (its listener lost PostgreSQL): then every call reads the database. A full cache
makes room by forgetting its least recently used token (web.lru).
"""

import time

from web import invalidation
from web.lru import LRU

MAX_ENTRIES = 10_000
# The bound on staleness should an invalidation ever be lost (e.g. a SQLite writer killed
# between its commit and its mark): an entry is reloaded after this long regardless.
MAX_AGE = 60.0

_entries = LRU(MAX_ENTRIES)  # digest -> (token, tag, reload after)


def lookup(digest, load):
    """The token for digest from this process's cache, else load(digest) (then cached)."""
    if not invalidation.caching():
        return load(digest)
    board = invalidation.board()
    now = time.monotonic()
    entry = _entries.get(digest)
    if entry is not None:
        token, tag, reload_after = entry
        if now < reload_after and board.fresh(token.tenant_id, tag):
            return token
    tag = board.tag()
    token = load(digest)
    if token is not None:
        _entries.put(digest, (token, tag, now + MAX_AGE))
    return token


def clear_local():
    """Forget this process's cache (tests)."""
    _entries.clear()
