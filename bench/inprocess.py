"""Part 1 (auth overhead in-process) and part 4 (burst write cost), through the WSGI handler."""

import time

from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from .driver import WsgiClient, expect_ok
from .timing import count_queries, interleaved_rounds, is_write, median
from .variants import VARIANTS

WARM_UP_CALLS = 20
ME = "/api/v1/me/"


def sql_shapes(sqls, width=120):
    """The distinct statements, cut before their parameters: enough to see what runs."""
    return sorted({sql[:width] for sql in sqls})


def prepare_variants(client, fixtures):
    return {
        variant.key: client.prepare(variant.path, authorization=variant.authorization(fixtures))
        for variant in VARIANTS
    }


def auth_overhead(fixtures, *, rounds, per_round, count_calls, before_each=None):
    """before_each: called before every request of every variant, inside its timing (e.g.
    emptying the token cache, for the cold path); it must cost next to nothing."""
    requests = prepare_variants(WsgiClient(), fixtures)
    if before_each is not None:
        requests = {key: _preceded(request, before_each) for key, request in requests.items()}
    # Steady state: imports, URL resolution caches, the DB connection and each token's
    # first-use write all happen here, not in the counted or timed passes.
    for variant in VARIANTS:
        for _ in range(WARM_UP_CALLS):
            expect_ok(requests[variant.key], variant.label)
    counted = {key: count_queries(request, count_calls) for key, request in requests.items()}
    wall, cpu = interleaved_rounds(requests, rounds=rounds, per_round=per_round)
    us = {key: median(samples) for key, samples in wall.items()}

    rows = []
    for variant in VARIANTS:
        queries, writes, sqls = counted[variant.key]
        rows.append(
            {
                "key": variant.key,
                "label": variant.label,
                "path": variant.path,
                "us_per_request": us[variant.key],
                "cpu_us_per_request": median(cpu[variant.key]),
                "ratio_to_a": us[variant.key] / us["a"],
                "queries_per_request": queries / count_calls,
                "writes_per_request": writes / count_calls,
                "sql_shapes": sql_shapes(sqls),
            }
        )
    ours, drf = us["b"] - us["a"], us["c"] - us["c0"]
    return {
        "select_1_us": round_trip(),
        "rounds": rounds,
        "requests_per_round": per_round,
        "variants": rows,
        "our_overhead_us": ours,
        "drf_overhead_us": drf,
        "knox_overhead_us": us["d"] - us["c0"],
        "our_to_drf_overhead": ours / drf if drf > 0 else None,
    }


def _preceded(request, before):
    def preceded():
        before()
        return request()

    return preceded


def round_trip(calls=1000):
    """Median µs of one raw `SELECT 1` on the open connection: the floor under any per-request
    read of shared state (e.g. an auth epoch row), without the ORM's cost on top."""
    samples = []
    with connection.cursor() as cursor:
        for _ in range(calls):
            start = time.perf_counter_ns()
            cursor.execute("SELECT 1")
            cursor.fetchone()
            samples.append((time.perf_counter_ns() - start) / 1000)
    return median(samples)


def burst(fixtures, *, calls, chunk=100):
    """`calls` authenticated calls in a row with a token never used before: the first one
    records the use, the rest fall within TOKEN_LAST_USED_RESOLUTION and must not write."""
    request = WsgiClient().prepare(ME, authorization=f"Token {fixtures.fresh_ours}")
    sqls = []
    start = time.monotonic()
    for done in range(0, calls, chunk):
        # Chunks, because the connection keeps at most 9,000 queries for inspection.
        with CaptureQueriesContext(connection) as captured:
            for _ in range(min(chunk, calls - done)):
                expect_ok(request, "burst")
        sqls += [query["sql"] for query in captured.captured_queries]
    elapsed = time.monotonic() - start
    return {
        "calls": calls,
        "path": ME,
        "seconds": elapsed,
        "resolution_seconds": settings.TOKEN_LAST_USED_RESOLUTION,
        "queries": len(sqls),
        "updates": sum(sql.lstrip().upper().startswith("UPDATE") for sql in sqls),
        "writes": sum(is_write(sql) for sql in sqls),
        "write_sql": sql_shapes(sql for sql in sqls if is_write(sql)),
    }
