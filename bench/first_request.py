"""First-request latency of a gunicorn worker, after boot and after `kill -HUP`.

    python -m bench.first_request      # SQLite; DATABASE_URL=postgres://… for PostgreSQL

Two configurations side by side, each on one worker with production settings: "cold" is
gunicorn.conf.py without preload_app and its warm-up (bench/gunicorn_cold.conf.py), so each
worker imports the app itself and its first request pays for URLconf, views, templates and
translations; "warm" is gunicorn.conf.py as shipped. No request reaches a worker before the
timed one: the harness waits until the worker has booted and sits idle.
"""

import statistics
import sys
import tempfile
import time
from pathlib import Path

from testbed.server import Gunicorn, free_port, prepare, request, server_env
from testbed.throwaway import ThrowawayDatabase

CONFIGS = {"cold": "bench/gunicorn_cold.conf.py", "warm": "gunicorn.conf.py"}
STEADY_REQUESTS = 10


def timed(port, path, **kwargs):
    started = time.perf_counter()
    response, _ = request(port, "GET", path, **kwargs)
    elapsed = time.perf_counter() - started
    if response.status != 200:
        raise RuntimeError(f"GET {path} answered {response.status}")
    return elapsed


def first_requests(port, seed):
    """Seconds for the first page, the first API call, then the median page after them."""
    token = {"Authorization": f"Token {seed['steady'][0]['secret']}"}
    page = timed(port, "/login/", host=seed["host"])
    api = timed(port, "/api/v1/me/", host=seed["host"], headers=token)
    steady = [timed(port, "/login/", host=seed["host"]) for _ in range(STEADY_REQUESTS)]
    return {"page": page, "api": api, "steady": statistics.median(steady)}


def measure(config, env, seed, directory):
    server = Gunicorn(env, Path(directory) / f"{Path(config).stem}.log", config=config)
    server.start(probe=False)
    try:
        after_boot = first_requests(server.port, seed)
        server.reload()
        after_hup = first_requests(server.port, seed)
    finally:
        server.stop()
    return {"boot": after_boot, "HUP": after_hup}


def render(results):
    rows = [
        ("first page after boot", "boot", "page"),
        ("first API call after boot", "boot", "api"),
        ("first page after HUP", "HUP", "page"),
        ("first API call after HUP", "HUP", "api"),
        (f"later pages (median of {STEADY_REQUESTS})", "HUP", "steady"),
    ]
    lines = [f"{'':34}" + "".join(f"{name:>10}" for name in results)]
    for label, moment, kind in rows:
        figures = "".join(f"{results[name][moment][kind] * 1000:>8.0f}ms" for name in results)
        lines.append(f"{label:34}{figures}")
    return "\n".join(lines)


def main():
    with tempfile.TemporaryDirectory() as directory:
        database = ThrowawayDatabase(directory, label="first_request")
        try:
            env = server_env(database, free_port(), directory, workers=1)
            seed = prepare(env)
            results = {name: measure(path, env, seed, directory) for name, path in CONFIGS.items()}
        finally:
            database.drop()
    print(f"First request per worker, {database.engine}, 1 sync worker (milliseconds):")
    print(render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
