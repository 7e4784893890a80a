"""Part 9: many active tokens on one worker. 50,000 of our tokens and 50,000 DRF tokens, called
with a skewed (Zipf, s = 1.1) choice of token, as a few busy integrations and a long tail of
occasional ones would: how often our per-process cache answers (it holds
tokens.authcache.MAX_ENTRIES tokens and forgets the least recently used), and the auth
overhead beside DRF's in the same run.

The same fixed-seed sequence of ranks picks our token and DRF's; rank r is a token chosen by a
shuffle, so popularity has nothing to do with row order. The cache is first brought to its
steady state by `warm_calls` calls; then `counted_calls` calls count the hits (a hit runs no
query, a miss reads the token), and interleaved rounds of (a), (b), (c0) and (c) are timed,
(b) and (c) going on along the sequence. The best any cache of that size can do is the share
of calls that go to the most popular MAX_ENTRIES tokens, reported beside the hit rate.
"""

import random
import time
from itertools import accumulate
from unittest import mock

from django.db import connection
from django.test.utils import override_settings

from tokens import authcache
from web import invalidation

from .driver import WsgiClient, expect_ok
from .timing import median, rotated
from .variants import DRF_PLAIN, DRF_TOKEN, OURS, PLAIN

EXPONENT = 1.1
SEED = 9


def zipf_ranks(count, *, seed=SEED):
    """An endless sequence of token indexes: the one of rank r (1 = the busiest) is drawn with
    a probability proportional to r ** -EXPONENT."""
    rng = random.Random(seed)
    by_rank = list(range(count))
    rng.shuffle(by_rank)
    cumulative = list(accumulate(rank**-EXPONENT for rank in range(1, count + 1)))
    while True:
        yield from (by_rank[r] for r in rng.choices(range(count), cum_weights=cumulative, k=1000))


def best_hit_rate(count, cached):
    """The share of calls to the `cached` busiest of `count` tokens."""
    weights = [rank**-EXPONENT for rank in range(1, count + 1)]
    return sum(weights[:cached]) / sum(weights)


def many_tokens(fixtures, *, warm_calls, counted_calls, rounds, per_round):
    if not invalidation.wait_until_caching():
        raise SystemExit("this process's invalidation listener never got its lease")
    client = WsgiClient()
    ranks = zipf_ranks(len(fixtures.ours))

    def caller(path, plaintexts):
        def call():
            token = plaintexts[next(ranks)]
            return client.prepare(path, authorization=f"Token {token}")

        return call

    ours, drf = caller(OURS, fixtures.ours), caller(DRF_TOKEN, fixtures.drf)
    # Use recorded once an hour here, so no call writes: the figures are authentication
    # alone, as DRF's (which records no use) are. Entries are not reloaded by age either: on
    # a busy machine this run lasts minutes, and MAX_AGE (60 s) would then reload every token
    # called less than once a minute, whatever the cache's size; the figure is the size's.
    with (
        override_settings(TOKEN_LAST_USED_RESOLUTION=3600),
        mock.patch.object(authcache, "MAX_AGE", 3600.0),
    ):
        for _ in range(warm_calls):
            expect_ok(ours(), "many tokens: warm-up")
        for _ in range(100):
            expect_ok(drf(), "many tokens: DRF warm-up")
        hits = _hits(ours, counted_calls)
        wall = _timed(
            {"a": _fixed(client, PLAIN), "b": ours, "c0": _fixed(client, DRF_PLAIN), "c": drf},
            rounds=rounds,
            per_round=per_round,
        )
    medians = {key: median(samples) for key, samples in wall.items()}
    means = {key: sum(samples) / len(samples) for key, samples in wall.items()}
    return {
        "tokens": len(fixtures.ours),
        "exponent": EXPONENT,
        "cache_entries": authcache.MAX_ENTRIES,
        "warm_calls": warm_calls,
        "counted_calls": counted_calls,
        "hit_rate": hits / counted_calls,
        "best_hit_rate": best_hit_rate(len(fixtures.ours), authcache.MAX_ENTRIES),
        "timed_requests": rounds * per_round,
        "median_us": medians,
        "mean_us": means,
        "our_overhead_us": medians["b"] - medians["a"],
        "drf_overhead_us": medians["c"] - medians["c0"],
        "our_mean_overhead_us": means["b"] - means["a"],
        "drf_mean_overhead_us": means["c"] - means["c0"],
    }


def _fixed(client, path):
    request = client.prepare(path)
    return lambda: request


def _hits(next_request, calls):
    """How many of `calls` calls ran no query, i.e. were answered from the cache. Each request
    starts with an empty query log (Django's request_started), so the log after it holds
    that request's queries alone."""
    hits, logging = 0, connection.force_debug_cursor
    connection.force_debug_cursor = True
    try:
        for _ in range(calls):
            expect_ok(next_request(), "many tokens: counted")
            hits += not connection.queries_log
    finally:
        connection.force_debug_cursor = logging
    return hits


def _timed(next_requests, *, rounds, per_round):
    """Like timing.interleaved_rounds, with the request of each call made (untimed) just
    before it: each call of (b) and (c) carries the next token of the sequence."""
    wall = {key: [] for key in next_requests}
    for round_number in range(rounds):
        for key in rotated(list(next_requests), round_number):
            for _ in range(per_round):
                request = next_requests[key]()
                start = time.perf_counter_ns()
                code, _body = request()
                wall[key].append((time.perf_counter_ns() - start) / 1000)
                if code != 200:
                    raise SystemExit(f"many tokens, {key}: got HTTP {code} during timing")
    return wall
