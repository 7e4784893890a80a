"""A full token or count cache forgets its least recently used entry, never everything at
once: a worker with more tokens in use than the cache holds keeps its busiest ones cached."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api import api_client
from tokens import authcache, counts
from web.lru import LRU

ME = "/api/v1/me/"


def queries_of(call):
    with CaptureQueriesContext(connection) as queries:
        assert call().status_code == 200
    return len(queries)


def test_a_full_token_cache_keeps_the_most_recently_used_tokens(
    issue, operator, monkeypatch, caching
):
    monkeypatch.setattr(authcache, "_entries", LRU(2))
    busy, quiet, new = (api_client(issue(operator, name=name)[1]) for name in "bqn")
    for client in (busy, quiet, busy, new):  # each token's first call also records its use
        client.get(ME)
    assert queries_of(lambda: busy.get(ME)) == 0
    assert queries_of(lambda: new.get(ME)) == 0
    assert queries_of(lambda: quiet.get(ME)) == 1  # the one forgotten, read again


def test_a_full_count_cache_keeps_the_most_recently_used_counts(tenant, monkeypatch, caching):
    monkeypatch.setattr(counts, "_counts", LRU(2))
    computed = []

    def count(name):
        return counts.cached((tenant.pk, "tenant"), name, lambda: computed.append(name) or 1)

    for name in ("busy", "quiet", "busy", "new", "busy", "new", "quiet"):
        count(name)
    assert computed == ["busy", "quiet", "new", "quiet"]
