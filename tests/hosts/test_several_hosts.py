"""CONTRACT §10 on two real hosts sharing PostgreSQL: once a write has returned on one host (or
in a management command), the very next call on the other host is decided on the new state."""

import json
import threading
import time
from collections import Counter

import pytest

from testbed.cluster import POOL_SIZE, cluster
from testbed.throwaway import suite_engine
from tokens import crypto

pytestmark = [
    pytest.mark.hosts,
    pytest.mark.skipif(
        suite_engine() != "postgresql", reason="several hosts share PostgreSQL: PostgreSQL suite"
    ),
]

A, B = 0, 1
ME = "/api/v1/me/"
TOKENS = "/api/v1/tokens/"
CALLS = 4  # per check: enough to reach both of a host's workers
BAD_TOKEN = crypto.generate()  # well formed, so each refusal counts against the limit


@pytest.fixture(scope="module", params=["postgresql", "postgresql+redis", "pgbouncer"])
def hosts(request, tmp_path_factory):
    directory = tmp_path_factory.mktemp("hosts")
    with cluster(
        directory,
        redis=request.param.endswith("redis"),
        pgbouncer=request.param == "pgbouncer",
        API_AUTH_FAILURE_LIMIT="6",
    ) as made:
        yield made


_addresses = iter(range(1, 10_000))


def statuses(hosts, host, secret):
    """CALLS calls, each from a new client address: refusals here are not what the
    failed-authentication limit is about."""
    return [
        hosts.call(host, "GET", ME, secret, address=f"10.9.{n // 250}.{n % 250 + 1}")[0]
        for n in (next(_addresses) for _ in range(CALLS))
    ]


def counts_on(hosts, host, path=TOKENS):
    found = set()
    for _ in range(CALLS):
        status, body = hosts.call(host, "GET", path, hosts.seed["admin"]["secret"])
        assert status == 200
        found.add(json.loads(body)["count"])
    return found


def trial_tokens(hosts, first, last):
    return hosts.seed["trials"][first:last]


def test_one_listener_per_host_not_per_worker(hosts):
    # Issue 26, item 5: a write waits for one acknowledgement per host; the workers of a host
    # read the board its master's listener keeps (web.invalidation.HostPostgres).
    assert hosts.listeners() == 2
    masters = {host.process.pid for host in hosts.hosts}
    rows = hosts.database.query("SELECT pid FROM tokens_cachelistener WHERE lease_until > now()")
    assert {pid for (pid,) in rows} == masters


def test_a_revocation_on_one_host_refuses_the_next_call_on_the_other(hosts):
    admin = hosts.seed["admin"]["secret"]
    for trial in trial_tokens(hosts, 0, 15):
        assert statuses(hosts, B, trial["secret"]) == [200] * CALLS  # cached on host B
        assert hosts.call(A, "DELETE", f"{TOKENS}{trial['id']}/", admin)[0] == 204
        assert statuses(hosts, B, trial["secret"]) == [401] * CALLS


def test_a_suspension_on_one_host_refuses_the_next_call_on_the_other_until_resumed(hosts):
    # CONTRACT §16: suspended everywhere at once, and resumed everywhere at once.
    admin = hosts.seed["admin"]["secret"]
    refused = Counter()
    for trial in trial_tokens(hosts, 25, 35):
        path = f"{TOKENS}{trial['id']}/"
        assert statuses(hosts, B, trial["secret"]) == [200] * CALLS  # cached on host B
        assert hosts.call(A, "POST", f"{path}suspend/", admin)[0] == 200
        refused.update(statuses(hosts, B, trial["secret"]) + statuses(hosts, A, trial["secret"]))
        status, body = hosts.call(B, "GET", ME, trial["secret"], address="10.9.255.1")
        assert "suspended" in json.loads(body)["detail"]
        assert hosts.call(B, "POST", f"{path}resume/", admin)[0] == 200
        assert statuses(hosts, A, trial["secret"]) == [200] * CALLS
    assert refused == Counter({403: 10 * 2 * CALLS})


def test_a_rotation_in_another_process_refuses_the_old_secret_on_both_hosts(hosts):
    trial = trial_tokens(hosts, 15, 16)[0]
    assert statuses(hosts, A, trial["secret"]) + statuses(hosts, B, trial["secret"]) == [200] * 8
    new_secret = hosts.shell("testbed.seeds.hosts.rotate", payload=trial["id"])
    assert statuses(hosts, A, trial["secret"]) + statuses(hosts, B, trial["secret"]) == [401] * 8
    assert statuses(hosts, B, new_secret) == [200] * CALLS


def test_a_demotion_by_command_takes_write_access_away_on_both_hosts(hosts):
    operator = hosts.seed["operator"]
    own = f"{TOKENS}{operator['id']}/"
    assert statuses(hosts, B, operator["secret"]) == [200] * CALLS
    hosts.manage("setrole", hosts.seed["operator_email"], "security_reader")
    for host in (A, B):
        assert hosts.call(host, "DELETE", own, operator["secret"])[0] == 403
    hosts.manage("setrole", hosts.seed["operator_email"], "security_operator")
    assert statuses(hosts, A, operator["secret"]) == [200] * CALLS


def test_counts_agree_on_every_host_right_after_each_write(hosts):
    before = counts_on(hosts, A) | counts_on(hosts, B)
    assert len(before) == 1
    generated = f"{TOKENS}?status=generated"
    generated_before = counts_on(hosts, A, generated) | counts_on(hosts, B, generated)
    assert len(generated_before) == 1
    hosts.manage("generatetoken", "admin@hosts.test", "--name", "counted")
    after_generate = counts_on(hosts, A) | counts_on(hosts, B)
    assert after_generate == {before.pop() + 1}
    # The status filter's count too: a new token is Generated.
    generated_after = counts_on(hosts, A, generated) | counts_on(hosts, B, generated)
    assert generated_after == {generated_before.pop() + 1}
    trial = trial_tokens(hosts, 16, 17)[0]
    admin = hosts.seed["admin"]["secret"]
    assert hosts.call(B, "DELETE", f"{TOKENS}{trial['id']}/", admin)[0] == 204
    assert counts_on(hosts, A) | counts_on(hosts, B) == {after_generate.pop() - 1}


def test_a_revocation_in_another_tenant_leaves_the_tenants_cache_alone(hosts):
    other = hosts.seed["other_trials"][0]
    other_admin = hosts.seed["other_admin"]["secret"]
    trial = trial_tokens(hosts, 17, 18)[0]
    assert statuses(hosts, B, trial["secret"]) == [200] * CALLS
    before = hosts.database.query("SELECT count(*) FROM tokens_token")[0][0]
    # Another tenant's host name is not needed on the generic host.
    status, _ = hosts.call(A, "DELETE", f"{TOKENS}{other['id']}/", other_admin, generic=True)
    assert status == 204
    assert statuses(hosts, B, trial["secret"]) == [200] * CALLS
    assert hosts.database.query("SELECT count(*) FROM tokens_token")[0][0] == before


def test_failed_authentications_are_limited_across_hosts(hosts):
    if time.time() % 60 > 55:  # the limit's window is a minute: not across its end
        time.sleep(61 - time.time() % 60)
    # API_AUTH_FAILURE_LIMIT=6 per address: failures alternate between the two hosts.
    seen = [hosts.call(n % 2, "GET", ME, BAD_TOKEN, address="203.0.113.9")[0] for n in range(10)]
    assert seen[:6] == [401] * 6
    assert set(seen[6:]) == {429}


def test_deprovisioning_by_command_refuses_the_next_call_on_both_hosts(hosts):
    operator = hosts.seed["operator"]
    assert (
        statuses(hosts, A, operator["secret"]) + statuses(hosts, B, operator["secret"]) == [200] * 8
    )
    hosts.manage("deprovisionuser", hosts.seed["operator_email"])
    assert (
        statuses(hosts, A, operator["secret"]) + statuses(hosts, B, operator["secret"]) == [403] * 8
    )


def test_killing_redis_mid_load_lets_no_revoked_token_through_and_no_500(hosts):
    if hosts.redis is None:
        pytest.skip("needs the configuration with Redis")
    live = trial_tokens(hosts, 20, 21)[0]["secret"]
    revoked = trial_tokens(hosts, 21, 22)[0]
    admin = hosts.seed["admin"]["secret"]
    assert hosts.call(A, "DELETE", f"{TOKENS}{revoked['id']}/", admin)[0] == 204
    seen = Counter()
    stop = threading.Event()

    def load(host):
        while not stop.is_set():
            seen[("live", hosts.call(host, "GET", ME, live)[0])] += 1
            # Each from a new address: refusals, not the failure limit, are what is counted.
            address = f"10.7.{host}.{next(_addresses) % 250 + 1}"
            seen[
                ("revoked", hosts.call(host, "GET", ME, revoked["secret"], address=address)[0])
            ] += 1
            bad = hosts.call(host, "GET", ME, BAD_TOKEN, address=f"198.51.100.{host}")[0]
            seen[("bad", bad)] += 1

    threads = [threading.Thread(target=load, args=(host,)) for host in (A, B)]
    for thread in threads:
        thread.start()
    time.sleep(1)
    hosts.redis.stop()
    time.sleep(3)
    hosts.redis.start()
    time.sleep(4)  # the back-off before Redis is tried again
    stop.set()
    for thread in threads:
        thread.join()
    assert seen[("revoked", 200)] == 0
    assert not [key for key in seen if key[1] >= 500]
    assert {status for kind, status in seen if kind == "live"} == {200}
    assert seen[("revoked", 401)] > 20
    assert {status for kind, status in seen if kind == "bad"} <= {401, 429}


def test_through_pgbouncer_the_requests_hold_no_more_than_its_pool(hosts):
    # Issue 26, item 4: in transaction mode the hosts' requests share the pooler's server
    # connections, however many workers call at once; the listeners go directly.
    if hosts.pgbouncer is None:
        pytest.skip("the pooled variant")
    secret = hosts.seed["admin"]["secret"]
    seen, counting = [], threading.Lock()

    def call_and_count():
        for _ in range(10):
            assert hosts.call(A, "GET", TOKENS, secret)[0] == 200
            assert hosts.call(B, "GET", TOKENS, secret)[0] == 200
            # One count at a time: each opens a session of its own, which another count
            # running at the same moment would see.
            with counting:
                seen.append(hosts.server_connections())

    threads = [threading.Thread(target=call_and_count) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert max(seen) <= POOL_SIZE
    assert hosts.listeners() == 2
