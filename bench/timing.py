"""Side-by-side measurement: rounds interleave the variants, figures are medians.

On a noisy 2-core machine absolute times drift (CPU frequency, other processes, the page
cache). Short rounds, each running every variant for a few requests in a rotating order,
keep the variants being compared within milliseconds of each other. Each request is timed
on its own: a request of a few hundred microseconds is rarely cut by the scheduler, so the
median request time stays honest while neighbours are busy, whereas a timed batch of many
requests absorbs their time slices, and a longer batch absorbs more of them.
"""

import gc
import statistics
import time

from django.db import connection
from django.test.utils import CaptureQueriesContext

WRITE_VERBS = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def rotated(items, shift):
    shift %= len(items)
    return items[shift:] + items[:shift]


def interleaved_rounds(variants, *, rounds, per_round):
    """variants: {key: zero-argument request returning (status, body)}.

    Returns two {key: [µs of each request]}: wall time, and this thread's CPU time (what the
    process itself spent, whatever its neighbours did; with PostgreSQL it leaves the
    server's work out). Each status is checked so a failing variant cannot pass for a fast
    one."""
    keys = list(variants)
    wall = {key: [] for key in keys}
    cpu = {key: [] for key in keys}
    # Once, not per round: a full collection costs milliseconds with Django loaded. The
    # collector stays on, because the garbage a route makes is part of its cost.
    gc.collect()
    for round_number in range(rounds):
        for key in rotated(keys, round_number):
            request = variants[key]
            for _ in range(per_round):
                start, start_cpu = time.perf_counter_ns(), time.thread_time_ns()
                code, _body = request()
                end_cpu, end = time.thread_time_ns(), time.perf_counter_ns()
                if code != 200:
                    raise SystemExit(f"{key}: got HTTP {code} during timing")
                wall[key].append((end - start) / 1000)
                cpu[key].append((end_cpu - start_cpu) / 1000)
    return wall, cpu


def median(values):
    return statistics.median(values)


def median_ratio(numerators, denominators):
    """For paired samples (one per round, e.g. a load test's requests per second)."""
    return statistics.median(n / d for n, d in zip(numerators, denominators, strict=True))


def is_write(sql):
    return sql.lstrip().upper().startswith(WRITE_VERBS)


def count_queries(request, calls):
    """Run request `calls` times and return (queries, writes, SQL statements) in total.

    Separate from the timed pass: capturing SQL costs time of its own."""
    with CaptureQueriesContext(connection) as captured:
        for _ in range(calls):
            request()
    sqls = [query["sql"] for query in captured.captured_queries]
    return len(sqls), sum(is_write(sql) for sql in sqls), sqls


def percentiles(values):
    """p50, p95 and max of a distribution (None for each when there are no values)."""
    if not values:
        return {"p50": None, "p95": None, "max": None, "n": 0}
    ordered = sorted(values)
    # Nearest rank: the p95 of 200 values is the 190th, a value that was measured.
    p95 = ordered[max(0, -(-95 * len(ordered) // 100) - 1)]
    return {"p50": statistics.median(ordered), "p95": p95, "max": ordered[-1], "n": len(ordered)}
