"""Everything measured against one database, in one process: ``python -m bench.suite``.

bench.run starts one of these per database with DATABASE_URL set, because Django's settings
(and so the database) are fixed once per process. Results go to --out as JSON.
"""

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass

import django

PARTS = (
    "inprocess",
    "burst",
    "hotspots",
    "http",
    "hosts",
    "fleet",
    "pages",
    "feed",
    "retention",
    "agent",
    "soak",
    "many",
)


@dataclass(frozen=True)
class Plan:
    """How much of everything to do; the quick plan trades precision for a fast loop."""

    auth_tokens: int = 10_000
    inprocess_rounds: int = 100
    inprocess_per_round: int = 10
    count_calls: int = 100
    burst_calls: int = 1000
    hotspot_calls: int = 500
    http_rounds: int = 5
    http_seconds: int = 1  # whole seconds: wrk takes no fractions
    page_sizes: tuple = (100, 10_000, 100_000)
    page_rounds: int = 7
    hosts_trials: int = 200  # revocation reach trials (PostgreSQL, several hosts)
    churn_tokens: int = 1000  # revoked 10 a second while the hot path is timed
    feed_sizes: tuple = (1_000, 1_000_000)  # audit events per tenant (issue 16)
    feed_rounds: int = 21
    agent_events: int = 50_000  # delivered by one SIEM agent to rsyslog (issue 16)
    fleet_hosts: int = 16  # fleet growth (issue 26): 16 hosts x 4 workers = 64 processes
    fleet_workers: int = 4
    # Half of them marked the way before; 200 a half put the p95 on the tenth slowest, not the
    # third (a fleet takes a minute to start, its revocations seconds).
    fleet_revocations: int = 400
    retention_events: int = 10_000_000  # one tenant's audit trail (issue 26, PostgreSQL)
    # Two flushes of each worker at the production resolution of 60 s (review 3, finding 2).
    soak_seconds: int = 120
    many_tokens: int = 50_000  # active tokens called with a Zipf-skewed choice (part 9)
    many_warm_calls: int = 60_000  # brings the token cache to its steady state
    many_counted_calls: int = 5_000
    many_rounds: int = 100


FULL = Plan()
QUICK = Plan(
    inprocess_rounds=40,
    count_calls=50,
    hotspot_calls=200,
    http_rounds=2,
    # Seeding 100,000 rows takes longer than all the rest of the quick plan; the growth
    # from 1,000 to 10,000 already shows whether a page is flat. For the 100,000 verdict:
    # BENCH_ARGS="--db sqlite --parts pages" make bench (about half a minute).
    page_sizes=(100, 1_000, 10_000),
    page_rounds=5,
    hosts_trials=40,
    # 1,000,000 events take over a minute to seed per database; 100,000 take seconds. For
    # the 1,000,000 verdict: BENCH_ARGS="--parts feed" make bench (2½ to 3½ minutes).
    feed_sizes=(1_000, 100_000),
    feed_rounds=9,
    agent_events=10_000,
    fleet_hosts=4,
    fleet_workers=2,
    fleet_revocations=20,
    retention_events=200_000,
    soak_seconds=70,  # one flush per worker
    # Seeding 50,000 users and 100,000 tokens and filling the cache take minutes; half the
    # tokens keep the quick plan near its minute (the cache then holds half of them).
    many_tokens=20_000,
    many_warm_calls=20_000,
    many_counted_calls=2_000,
    many_rounds=40,
)


class Progress:
    def __init__(self, label):
        self.label, self.start = label, time.monotonic()

    def __call__(self, message):
        elapsed = time.monotonic() - self.start
        print(f"  [{self.label} {elapsed:5.1f}s] {message}", file=sys.stderr, flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--label", required=True, help="database name used in the report")
    parser.add_argument("--out", required=True, help="where to write the JSON results")
    parser.add_argument("--parts", default=",".join(PARTS))
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    parts = set(args.parts.split(","))
    plan = QUICK if args.quick else FULL
    progress = Progress(args.label)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    django.setup()
    # Imported after setup: these modules import models.
    from django.core.management import call_command
    from django.db import connection

    from . import (
        database,
        feed,
        hotspots,
        http_auth,
        inprocess,
        many_tokens,
        pages,
        seed,
        siem_agent,
    )

    progress("migrating")
    call_command("migrate", verbosity=0)
    results = {"vendor": connection.vendor, "server_version": _server_version(connection)}

    # The auth parts run before the page tenants exist, so each token table holds exactly
    # plan.auth_tokens rows (plus the principal's) while they are measured.
    if parts & {"inprocess", "burst", "hotspots", "http", "hosts"}:
        progress(f"seeding {plan.auth_tokens:,} tokens in each of ours, DRF's and knox's tables")
        fixtures = seed.seed_auth(plan.auth_tokens)
        database.settle()
    if "inprocess" in parts:
        progress(f"auth overhead in-process: {plan.inprocess_rounds} interleaved rounds")
        results["inprocess"] = inprocess.auth_overhead(
            fixtures,
            rounds=plan.inprocess_rounds,
            per_round=plan.inprocess_per_round,
            count_calls=plan.count_calls,
        )
    if "burst" in parts:
        progress(f"burst: {plan.burst_calls:,} calls with one token")
        results["burst"] = inprocess.burst(fixtures, calls=plan.burst_calls)
    if "hotspots" in parts:
        progress("profiling our auth path")
        results["hotspots"] = hotspots.auth_path(fixtures, calls=plan.hotspot_calls)
    if "http" in parts:
        progress(f"auth over HTTP: gunicorn, {plan.http_rounds} interleaved rounds")
        connection.close()  # the server's workers open their own
        results["http"] = http_auth.throughput(
            fixtures,
            rounds=plan.http_rounds,
            seconds=plan.http_seconds,
        )
    if "hosts" in parts:
        results["hosts"] = _several_hosts(fixtures, plan, progress)
    if "fleet" in parts:
        from . import fleet, hosts

        connection.close()  # the hosts' workers open their own
        results["fleet"] = fleet.fleet_growth(
            hosts.host_env(),
            hosts=plan.fleet_hosts,
            workers=plan.fleet_workers,
            revocations=plan.fleet_revocations,
            progress=progress,
        )
    if "pages" in parts:
        sizes = ", ".join(f"{size:,}" for size in plan.page_sizes)
        progress(f"seeding tenants with {sizes} tokens")
        tenants = [seed.seed_page_tenant(size) for size in plan.page_sizes]
        database.settle()
        progress(f"page scale: {plan.page_rounds} interleaved rounds")
        results["pages"] = pages.page_scale(tenants, rounds=plan.page_rounds)
    if "feed" in parts:
        sizes = ", ".join(f"{size:,}" for size in plan.feed_sizes)
        progress(f"seeding tenants with {sizes} audit events")
        feed_tenants = [feed.seed_feed_tenant(size) for size in plan.feed_sizes]
        database.settle()
        progress(f"SIEM feed scale: {plan.feed_rounds} interleaved rounds")
        results["feed"] = feed.feed_scale(feed_tenants, rounds=plan.feed_rounds)
    if "retention" in parts:
        from . import retention

        results["retention"] = retention.retention_scale(
            size=plan.retention_events, rounds=plan.feed_rounds, progress=progress
        )
    if "agent" in parts:
        progress(f"SIEM agent: {plan.agent_events:,} events to rsyslog through gunicorn")
        results["agent"] = siem_agent.agent_throughput(plan.agent_events)
    if "soak" in parts:
        results["soak"] = _soak(plan, progress)
    # Last: its 50,000 rows per table would change what the parts above measure.
    if "many" in parts:
        progress(f"seeding {plan.many_tokens:,} of our tokens and as many of DRF's")
        many = seed.seed_many(plan.many_tokens)
        database.settle()
        progress(f"many tokens: {plan.many_warm_calls:,} calls to warm, then counted and timed")
        results["many"] = many_tokens.many_tokens(
            many,
            warm_calls=plan.many_warm_calls,
            counted_calls=plan.many_counted_calls,
            rounds=plan.many_rounds,
            per_round=plan.inprocess_per_round,
        )
    progress("done")
    connection.close()
    with open(args.out, "w") as out:
        json.dump(results, out, indent=2, default=str)


def _several_hosts(fixtures, plan, progress):
    from django.db import connection

    from . import database, hosts, seed

    if connection.vendor != "postgresql":
        return {"skipped": "several hosts share PostgreSQL: run with --db postgres"}
    progress(f"seeding {plan.hosts_trials} reach tokens and {plan.churn_tokens:,} to revoke")
    hosts_fixtures = seed.seed_hosts(plan.hosts_trials, plan.churn_tokens)
    database.settle()
    return hosts.several_hosts(fixtures, hosts_fixtures, plan=plan, progress=progress)


def _soak(plan, progress):
    from django.db import connection

    from . import database, soak

    if connection.vendor != "postgresql":
        return {"skipped": "the soak runs on PostgreSQL: run with --db postgres"}
    progress(f"seeding {soak.TOKENS} tokens in {soak.TENANTS} tenants for the soak")
    fixtures = soak.seed_soak(soak.TENANTS, soak.TOKENS)
    database.settle()
    return soak.soak(fixtures, seconds=plan.soak_seconds, progress=progress)


def _server_version(connection):
    if connection.vendor == "sqlite":
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return f"PostgreSQL {cursor.fetchone()[0]}"


if __name__ == "__main__":
    main()
