"""Where the time of our auth path goes: cProfile of the no-auth route and of the /api/ route,
subtracted per request, so what remains is the middleware's own work.

cProfile slows every Python call down, so the absolute microseconds here are inflated; the
order and the shares are what to read.
"""

import cProfile
import os
import pstats
import sysconfig

from .driver import WsgiClient, expect_ok
from .variants import VARIANTS

TOP = 15


def _label(func):
    filename, line, name = func
    for marker in ("site-packages" + os.sep, os.getcwd() + os.sep, sysconfig.get_paths()["stdlib"]):
        if marker in filename:
            filename = filename.split(marker, 1)[1].lstrip(os.sep)
    if filename == "~":
        return name  # a C function, e.g. <method 'execute' of 'sqlite3.Cursor' objects>
    return f"{filename}:{line}({name})"


def _profile(request, calls):
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        request()
    profiler.disable()
    # stats: {func: (primitive calls, total calls, own time, cumulative time, callers)}
    return pstats.Stats(profiler).stats


def auth_path(fixtures, *, calls):
    client = WsgiClient()
    by_key = {variant.key: variant for variant in VARIANTS}
    plain = client.prepare(by_key["a"].path)
    ours = client.prepare(by_key["b"].path, authorization=by_key["b"].authorization(fixtures))
    for _ in range(20):
        expect_ok(plain, "profile: no auth")
        expect_ok(ours, "profile: our auth")
    baseline, authenticated = _profile(plain, calls), _profile(ours, calls)

    def per_request(stats, func, field):
        entry = stats.get(func)
        return entry[field] / calls * 1e6 if entry else 0.0

    rows = []
    for func, entry in authenticated.items():
        extra_cumulative = per_request(authenticated, func, 3) - per_request(baseline, func, 3)
        extra_own = per_request(authenticated, func, 2) - per_request(baseline, func, 2)
        extra_calls = (entry[1] - baseline.get(func, (0, 0))[1]) / calls
        rows.append((func, extra_cumulative, extra_own, extra_calls))
    total = sum(row[2] for row in rows)
    # Frames both routes pass through equally (the WSGI handler, the outer middleware) carry
    # the whole difference in their cumulative time but do none of the work: keep only the
    # functions the auth route calls more often.
    rows = [row for row in rows if row[3] > 0]

    def table(index):
        ranked = sorted(rows, key=lambda row: row[index], reverse=True)[:TOP]
        return [
            {
                "function": _label(func),
                "extra_cumulative_us": cumulative,
                "extra_own_us": own,
                "extra_calls_per_request": extra_calls,
            }
            for func, cumulative, own, extra_calls in ranked
        ]

    return {
        "calls": calls,
        "extra_us_per_request_under_profiler": total,
        "by_cumulative": table(1),
        "by_own_time": table(2),
    }
