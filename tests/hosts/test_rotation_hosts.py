"""Issue 28, item 5: rotation with overlap on two real hosts sharing PostgreSQL. Once the new
secret's first call has returned on host A, host B accepts no call with the old secret, though
B had it cached as valid (its overlap had hours to run): the first use is written, announced
and settled like a revocation (CONTRACT §10, "at once, on every host")."""

import json
from collections import Counter

import pytest

from testbed.cluster import cluster
from testbed.throwaway import suite_engine

pytestmark = [
    pytest.mark.hosts,
    pytest.mark.skipif(
        suite_engine() != "postgresql", reason="several hosts share PostgreSQL: PostgreSQL suite"
    ),
]

A, B = 0, 1
ME = "/api/v1/me/"
TRIALS = 20  # `make bench` runs more; here enough to catch a host that does not hear
CALLS = 4  # per check: enough to reach both of a host's workers


def test_no_call_with_the_old_secret_passes_on_b_once_the_new_ones_first_call_returned_on_a(
    tmp_path,
):
    with cluster(tmp_path) as hosts:
        addresses = (f"10.8.{n // 250}.{n % 250 + 1}" for n in range(10_000))

        def statuses(host, secret):
            # Each from a new address: refusals here are not what the failure limit is about.
            return [
                hosts.call(host, "GET", ME, secret, address=next(addresses))[0]
                for _ in range(CALLS)
            ]

        outcomes = Counter()
        for trial in hosts.seed["trials"][:TRIALS]:
            old = trial["secret"]
            # The token rotates itself on A, with the default overlap (24 hours).
            status, body = hosts.call(A, "POST", f"/api/v1/tokens/{trial['id']}/rotate/", old)
            assert status == 200, body
            new = json.loads(body)["secret"]
            assert statuses(B, old) == [200] * CALLS  # valid, and now cached on B
            assert hosts.call(A, "GET", ME, new)[0] == 200  # the new secret's first call
            after = statuses(B, old) + statuses(A, old)
            outcomes.update(after)
            assert statuses(B, new) == [200] * CALLS  # the successor stays valid
        print(f"old secret after the successor's first call: {dict(outcomes)}")
        assert outcomes == Counter({401: TRIALS * 2 * CALLS})
