"""The skewed choice of token in bench part 9 (bench/many_tokens.py)."""

from collections import Counter
from itertools import islice

from bench.many_tokens import best_hit_rate, zipf_ranks


def test_the_same_seed_draws_the_same_tokens():
    assert list(islice(zipf_ranks(1000), 500)) == list(islice(zipf_ranks(1000), 500))


def test_a_few_tokens_get_most_calls_and_the_tail_some():
    calls = Counter(islice(zipf_ranks(50_000), 20_000))
    busiest = sum(count for _, count in calls.most_common(1000))
    assert 0.5 < busiest / 20_000 < 0.9
    assert len(calls) > 4000  # the long tail is called too


def test_the_best_hit_rate_is_the_busiest_tokens_share_of_calls():
    assert best_hit_rate(3, 3) == 1
    assert best_hit_rate(2, 1) == 1 / (1 + 2**-1.1)
