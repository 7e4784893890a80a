"""Counts of tokens for the filter pills, the page total and the API's `count`, cached briefly.

Counting 100,000 rows costs far more than showing 50 of them, so each process keeps its counts
for COUNT_TTL seconds, tagged like the token cache (web.invalidation): every token or user
write, and a token's first use, makes the tenant's counts stale on every process of every host
before it returns, so right after a generate, revoke or deprovisioning every host counts again
and agrees. Only the passage of time (a token turning Inactive) can make a count lag, by at
most COUNT_TTL seconds; the rows themselves are always queried fresh. While a process cannot
hear invalidations it counts on every request. A full cache makes room by forgetting its
least recently used count (web.lru).
"""

import time

from django.core.paginator import Paginator
from django.utils.functional import cached_property

from tenants.permissions import may_see_others_tokens
from web import invalidation
from web.lru import LRU

COUNT_TTL = 30
MAX_ENTRIES = 10_000

_counts = LRU(MAX_ENTRIES)  # (scope, name) -> (value, tag, recount after)


def cached(scope, name, compute):
    """compute() for (scope, name), from this process's cache while it is fresh."""
    if not invalidation.caching():
        return compute()
    board, key, now = invalidation.board(), (scope, name), time.monotonic()
    entry = _counts.get(key)
    if entry is not None:
        value, tag, recount_after = entry
        if now < recount_after and board.fresh(scope[0], tag, invalidation.COUNTS):
            return value
    tag = board.tag()
    value = compute()
    _counts.put(key, (value, tag, now + COUNT_TTL))
    return value


def scope_of(user):
    """Whose tokens a count covers: the tenant's for full admins, else the user's own."""
    return (user.tenant_id, "tenant" if may_see_others_tokens(user) else f"user:{user.pk}")


def listing_name(status, *, owner="any", q="", narrowed=""):
    """The name a list's count is kept under: its filters (narrowed: the page's extra ones,
    as a query string), the search ignoring case and the spaces around it as Token.search
    does."""
    name = f"{status}:{owner}" + (f":{narrowed}" if narrowed else "")
    q = q.strip().lower()
    return f"{name}:q={q}" if q else name


def clear_local():
    """Forget this process's counts (tests)."""
    _counts.clear()


class CountedPaginator(Paginator):
    """A paginator whose total comes from the count cache."""

    def __init__(self, object_list, per_page, *, scope, name):
        super().__init__(object_list, per_page)
        self._scope, self._name = scope, name

    @cached_property
    def count(self):
        return cached(self._scope, self._name, self.object_list.count)
