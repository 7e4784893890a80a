"""Counts of tokens for the filter pills, the page total and the API's `count`, cached briefly.

Counting 100,000 rows costs far more than showing 50 of them, so each count is kept in
Django's cache for COUNT_TTL seconds under a version that every token or user write, and a
token's first use, bumps (tokens.authcache): after a generate, revoke or deprovisioning, the
next page view counts again. Only the passage of time (a token turning Inactive) can make a
count lag, by at most COUNT_TTL seconds; the rows themselves are always queried fresh.
"""

from django.core.cache import cache
from django.core.paginator import Paginator
from django.utils.functional import cached_property

from . import authcache

COUNT_TTL = 30


def _key(scope, name):
    return f"token-count:{authcache.counts_version()}:{scope}:{name}"


def cached(scope, name, compute):
    key = _key(scope, name)
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, COUNT_TTL)
    return value


def scope_of(user):
    """Whose tokens a count covers: the tenant's for full admins, else the user's own."""
    return f"t{user.tenant_id}" if user.sees_all_tokens else f"u{user.pk}"


class CountedPaginator(Paginator):
    """A paginator whose total comes from the count cache."""

    def __init__(self, object_list, per_page, *, scope, name):
        super().__init__(object_list, per_page)
        self._scope, self._name = scope, name

    @cached_property
    def count(self):
        return cached(self._scope, self._name, self.object_list.count)
