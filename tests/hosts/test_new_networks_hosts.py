"""Issue 19, items 3 and 5: "used from a new network" on two real hosts of two workers each,
sharing PostgreSQL. Every process counts sightings in memory and its flusher thread writes
them once per resolution (here one second), so the four processes race to record the same
networks of the same tokens again and again; the database decides, and each new network is
audited once and the baseline never."""

import random
import threading
import time
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

TOKENS = 4
NETWORKS = 5  # per token: one becomes its baseline, the others are news
THREADS = 8
SECONDS = 4


def address(token_number, network_number):
    return f"10.{token_number}.{network_number}.{random.randint(1, 254)}"  # noqa: S311


def test_each_new_network_is_audited_once_across_hosts_and_the_baseline_never(tmp_path):
    with cluster(tmp_path, TOKEN_LAST_USED_RESOLUTION="1") as hosts:
        tokens = hosts.seed["trials"][:TOKENS]
        statuses, stop = Counter(), time.monotonic() + SECONDS

        def calls(thread):
            n = thread
            while time.monotonic() < stop:
                number = n % TOKENS
                status, _ = hosts.call(
                    n % 2,
                    "GET",
                    "/api/v1/me/",
                    tokens[number]["secret"],
                    address=address(number, (n // TOKENS) % NETWORKS),
                )
                statuses[status] += 1
                n += THREADS

        threads = [threading.Thread(target=calls, args=(n,)) for n in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # Each worker's flusher thread wrote while it served, every second (tokens.pending)...
        time.sleep(1.5)
        written = hosts.database.query("SELECT count(*) FROM tokens_tokennetwork")[0][0]
        assert written == TOKENS * NETWORKS
        # ...and a stopped worker writes what it still holds.
        for host in hosts.hosts:
            host.stop()

        errors = [
            line
            for host in hosts.hosts
            for line in host.log().splitlines()
            if " ERROR " in line or "Error" in line
        ]
        assert set(statuses) == {200} and statuses[200] > 100, (statuses, errors[:20])
        for number, token in enumerate(tokens):
            rows = hosts.database.query(
                "SELECT network, baseline, flagged_at IS NOT NULL FROM tokens_tokennetwork "
                f"WHERE token_id = '{token['id']}'"  # noqa: S608 - a UUID from the seed
            )
            events = [
                detail.split()[3]
                for (detail,) in hosts.database.query(
                    "SELECT detail FROM audit_auditevent WHERE action = 'token.new_network' "
                    f"AND token_id = '{token['id']}'"  # noqa: S608
                )
            ]
            networks = {f"10.{number}.{n}.0/24" for n in range(NETWORKS)}
            assert {network for network, _, _ in rows} == networks
            (baseline,) = [network for network, is_baseline, _ in rows if is_baseline]
            assert sorted(events) == sorted(networks - {baseline}), events
            assert all(flagged for network, is_baseline, flagged in rows if not is_baseline)
