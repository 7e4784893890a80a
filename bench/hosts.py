"""Part 6: the several-hosts configuration, on PostgreSQL only (docs/performance.md).

Every process caches verified tokens and trusts its cache only while its listener thread
holds its lease (web.invalidation); every write waits, after its commit, until every live
listener has acknowledged it. Measured here, in this order:

- in-process, with this process's listener running and trusted: the hot path (as part 1),
  the cold path (the token cache emptied before every request), and the hot path again while
  another process revokes tokens of another tenant 10 times a second;
- two gunicorns (the project's gunicorn.conf.py, 2 workers each) on this database, loaded
  together: throughput of (a) and (b), quiet and with the same revocations;
- revocation reach: a token warmed on host B, revoked through host A's API, then called on
  host B at once (bench.reach).
"""

import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from django.db import connection

from testbed.cluster import WORKERS_PER_HOST, running_hosts
from tokens import authcache
from web import invalidation

from . import churn, inprocess, loadgen, reach
from .http_auth import CONNECTIONS, variant_rows, warm_up, workers_cpu_seconds
from .timing import percentiles, rotated
from .variants import VARIANTS

REVOCATIONS_PER_SECOND = 10
HTTP_KEYS = ("a", "b")  # the throughput target compares these two


def several_hosts(fixtures, hosts_fixtures, *, plan, progress):
    if connection.vendor != "postgresql":
        return {"skipped": "several hosts share PostgreSQL: run with --db postgres"}
    if not invalidation.wait_until_caching():
        raise SystemExit("this process's invalidation listener never got its lease")
    revoking = partial(
        churn.revoking,
        hosts_fixtures.churn_tenant_id,
        hosts_fixtures.churn_admin_id,
        rate=REVOCATIONS_PER_SECOND,
    )
    results = {"revocations_per_second": REVOCATIONS_PER_SECOND}
    results.update(_in_process(fixtures, plan, progress, revoking))
    with tempfile.TemporaryDirectory(prefix="portal-bench-hosts-") as directory:
        progress(f"several hosts: starting 2 gunicorns x {WORKERS_PER_HOST} workers")
        with running_hosts(host_env(), directory, _query) as hosts:
            results["listeners"] = len(_query(LIVE_LISTENERS))
            results.update(_over_http(hosts, fixtures, hosts_fixtures, plan, progress, revoking))
    return results


def _in_process(fixtures, plan, progress, revoking):
    measure = partial(
        inprocess.auth_overhead,
        fixtures,
        rounds=plan.inprocess_rounds,
        per_round=plan.inprocess_per_round,
        count_calls=plan.count_calls,
    )
    progress("several hosts in-process: hot path, listener trusted")
    found = {"inprocess": measure()}
    progress("several hosts in-process: cold path (cache emptied before every request)")
    found["cold"] = measure(before_each=authcache.clear_local)
    progress(f"several hosts in-process: hot path, {REVOCATIONS_PER_SECOND} revocations/s")
    with revoking() as revocations:
        found["inprocess_churn"] = measure()
    found["inprocess_churn"]["revocations"] = _summary(revocations)
    found["trusted_throughout"] = invalidation.caching()
    return found


def _over_http(hosts, fixtures, hosts_fixtures, plan, progress, revoking):
    rounds = partial(
        throughput, hosts, fixtures, rounds=plan.http_rounds, seconds=plan.http_seconds
    )
    progress(f"several hosts over HTTP: {plan.http_rounds} rounds, both hosts loaded at once")
    found = {"http": rounds()}
    progress(f"several hosts over HTTP: the same, {REVOCATIONS_PER_SECOND} revocations/s")
    with revoking() as revocations:
        found["http_churn"] = rounds()
    found["http_churn"]["revocations"] = _summary(revocations)
    progress(f"revocation reach: {plan.hosts_trials} trials, revoke on A, call B")
    found["reach"] = reach.trials(hosts, hosts_fixtures, trials=plan.hosts_trials)
    progress(f"rotation-overlap reach: {plan.hosts_trials} trials, new secret on A, old on B")
    found["overlap_reach"] = reach.rotation_trials(hosts, hosts_fixtures, trials=plan.hosts_trials)
    return found


def _summary(revocations):
    """What the revoking process did: how many, how fast, and how long each one waited."""
    seconds = revocations.get("seconds") or 0
    return {
        **revocations,
        "per_second": revocations.get("revocations", 0) / seconds if seconds else 0.0,
        "revoke": percentiles(revocations.get("durations_ms", [])),
    }


LIVE_LISTENERS = "SELECT pid FROM tokens_cachelistener WHERE lease_until > now()"


def _query(sql):
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def host_env():
    """The bench settings on this database, as bench.http_auth serves them, plus what the
    reach trials need: the client address from X-Forwarded-For (one per trial, so refusals
    never reach the per-address limit on failed authentications)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUNICORN_", "TOKEN_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        WEB_CONCURRENCY=str(WORKERS_PER_HOST),
        TOKEN_CACHE="on",
        TRUSTED_PROXIES="1",
        DRAIN_SECONDS="0",  # no load balancer to wait for: stop at once
    )
    return env


def throughput(hosts, fixtures, *, rounds, seconds):
    """Requests per second of (a) and (b), each host under its own load at the same time,
    summed; rounds interleaved as in part 2."""
    variants = [variant for variant in VARIANTS if variant.key in HTTP_KEYS]
    targets = {variant.key: (variant.path, _headers(variant, fixtures)) for variant in variants}
    for host in hosts:
        for variant in variants:
            path, headers = targets[variant.key]
            warm_up(f"http://127.0.0.1:{host.port}{path}", headers, variant.label)
    rates = {key: [] for key in targets}
    cpu = {key: [] for key in targets}
    failures = dict.fromkeys(targets, 0)
    for round_number in range(rounds):
        for key in rotated(list(targets), round_number):
            before = _workers_cpu(hosts)
            loads = _load_all(hosts, *targets[key], seconds)
            after = _workers_cpu(hosts)
            requests = sum(load.requests for load in loads)
            rates[key].append(sum(load.per_second for load in loads))
            failures[key] += sum(load.failures for load in loads)
            if before is not None and after is not None and requests:
                cpu[key].append((after - before) / requests * 1e6)
    return {
        "load_generator": f"{loadgen.describe(CONNECTIONS)} per host",
        "hosts": len(hosts),
        "workers_per_host": WORKERS_PER_HOST,
        "rounds": rounds,
        "seconds_per_run": seconds,
        "variants": variant_rows(variants, rates, cpu, failures),
        "samples_rps": rates,
    }


def _headers(variant, fixtures):
    headers = {"Accept": "application/json"}
    if authorization := variant.authorization(fixtures):
        headers["Authorization"] = authorization
    return headers


def _load_all(hosts, path, headers, seconds):
    def load(host):
        url = f"http://127.0.0.1:{host.port}{path}"
        try:
            return loadgen.run(url, seconds=seconds, connections=CONNECTIONS, headers=headers)
        except RuntimeError:  # once more, as part 2 does: a load generator can fail to start
            return loadgen.run(url, seconds=seconds, connections=CONNECTIONS, headers=headers)

    with ThreadPoolExecutor(len(hosts)) as pool:
        return list(pool.map(load, hosts))


def _workers_cpu(hosts):
    seconds = [workers_cpu_seconds(host.process.pid) for host in hosts]
    return None if None in seconds else sum(seconds)
