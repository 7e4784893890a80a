"""``make bench``: every benchmark on SQLite and PostgreSQL, one table, one verdict.

    python -m bench.run            # full run (what docs/performance.md quotes)
    python -m bench.run --quick    # or BENCH_QUICK=1: SQLite only, fewer rounds, < 1 minute

Each database gets a throw-away copy (a temporary SQLite file; a PostgreSQL database that is
dropped afterwards) and its own `python -m bench.suite` process. Results are printed and
written to bench/results/ as JSON (latest.json is the last run).
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from . import report
from .suite import PARTS

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", default=os.environ.get("BENCH_QUICK"))
    parser.add_argument("--db", help="comma-separated: sqlite,postgres (quick: sqlite)")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"any of {','.join(PARTS)}")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target FAILs")
    args = parser.parse_args(argv)
    quick = bool(args.quick) and args.quick != "0"
    databases = (args.db or ("sqlite" if quick else "sqlite,postgres")).split(",")

    started = datetime.now(UTC)
    clock = time.monotonic()
    load_before = os.getloadavg()[0]
    meta = {
        "mode": "QUICK: fewer rounds, for iteration only" if quick else "full",
        "started": started.strftime("%Y-%m-%d %H:%M UTC"),
        "commit": _git_commit(),
        "machine": machine(),
        "parts": args.parts,
    }
    print(f"Benchmarking ({meta['mode']}) on {', '.join(databases)}...", file=sys.stderr)
    results = {}
    try:
        for name in databases:
            with throw_away_database(name) as url:
                if url is None:
                    results[name] = {"skipped": "PostgreSQL is not reachable at BENCH_POSTGRES_URL"}
                    continue
                results[name] = run_suite(name, url, parts=args.parts, quick=quick)
    except subprocess.CalledProcessError as failure:
        # The suite printed its own traceback; the throw-away database is already dropped.
        print(f"The {name} suite failed (exit {failure.returncode}): no report.", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("Interrupted: no report; throw-away databases dropped.", file=sys.stderr)
        return 130
    meta["wall_seconds"] = time.monotonic() - clock
    # Other processes competing for the 2 CPUs inflate absolute times; say so in the report.
    meta["load_average"] = [round(load_before, 1), round(os.getloadavg()[0], 1)]
    meta["cpus"] = os.cpu_count()

    full = {"meta": meta, "databases": results, "verdicts": report.verdicts(results)}
    text = report.render(full)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%d-%H%M%S") + ("-quick" if quick else "")
    for path in (RESULTS / f"bench-{stamp}.json", RESULTS / "latest.json"):
        path.write_text(json.dumps(full, indent=2) + "\n")
    (RESULTS / "latest.txt").write_text(text + "\n")
    print(f"\nWrote {RESULTS / f'bench-{stamp}.json'}", file=sys.stderr)
    failed = any(verdict["result"] != "PASS" for verdict in full["verdicts"])
    return 1 if args.strict and failed else 0


def run_suite(name, url, *, parts, quick):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        command = [sys.executable, "-m", "bench.suite", "--label", name, "--out", out.name]
        command += ["--parts", parts] + (["--quick"] if quick else [])
        env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "bench.settings"}
        subprocess.run(command, cwd=ROOT, env=env, check=True)
        return json.loads(Path(out.name).read_text())


@contextmanager
def throw_away_database(name):
    if name == "sqlite":
        with tempfile.TemporaryDirectory(prefix="portal-bench-") as directory:
            yield f"sqlite:///{directory}/bench.sqlite3"
    elif name == "postgres":
        yield from _postgres_database()
    else:
        raise SystemExit(f"unknown database {name!r}: use sqlite or postgres")


def _postgres_database():
    import psycopg

    # BENCH_POSTGRES_DATABASE names the throw-away database where only some names may be used;
    # it is created and dropped like the default one, so it must not exist yet.
    database = os.environ.get("BENCH_POSTGRES_DATABASE") or f"portal_bench_{os.getpid()}"
    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError:
        yield None
        return
    with admin:
        admin.execute(f'CREATE DATABASE "{database}"')
        try:
            yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{database}"
        finally:
            # FORCE: a gunicorn worker killed mid-request may leave a session behind.
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def machine():
    cpu = platform.processor() or platform.machine()
    if shutil.which("lscpu"):
        for line in _output(["lscpu"]).splitlines():
            if line.startswith("Model name:"):
                cpu = line.split(":", 1)[1].strip()
    memory = ""
    if shutil.which("free"):
        memory_lines = [line for line in _output(["free", "-h"]).splitlines() if "Mem:" in line]
        memory = memory_lines[0].split()[1] if memory_lines else ""
    return (
        f"{os.cpu_count()} CPUs ({cpu}), {memory} RAM, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}"
    )


def _git_commit():
    commit = _output(["git", "rev-parse", "--short", "HEAD"]).strip() or "unknown"
    dirty = _output(["git", "status", "--porcelain", "--untracked-files=no"]).strip()
    return commit + ("+changes" if dirty else "")


def _output(command):
    try:
        return subprocess.run(command, cwd=ROOT, capture_output=True, text=True).stdout
    except OSError:
        return ""


if __name__ == "__main__":
    sys.exit(main())
