"""Part "fleet": what a write costs as the fleet grows (issue 26, item 5), PostgreSQL only.

HOSTS gunicorns of WORKERS each (the project's gunicorn.conf.py: one invalidation listener per
host, in its master) are started on this database, idle; this process then revokes REVOCATIONS
tokens one after the other through the real service (tokens.services.token_revoke: NOTIFY,
commit, wait until every live listener has acknowledged). Measured: each revocation's time,
the updates of the listeners table (acknowledgements and lease renewals) per revocation, from
pg_stat_user_tables, and the connections the fleet holds, from pg_stat_activity. The same is
then measured with each host's listener waiting and acknowledging through psycopg's Connection
(bench/gunicorn_connection_listener.conf.py, before web.listening) and with one listener per
worker (bench/gunicorn_worker_listeners.conf.py, the design before), side by side in one run.
Every other revocation takes its mark the way before (in a transaction of its own after the
commit, so each listener wakes twice per write instead of once): the two ways side by side on
the same fleet. Also measured: the CPU each listener's process and PostgreSQL session spend
per revocation (the hosts and PostgreSQL run on this machine, so /proc has them).
"""

import contextlib
import tempfile
import time
from pathlib import Path

from django.db import connection

from testbed.server import Gunicorn, free_port

from .timing import percentiles

LISTENERS = "tokens_cachelistener"
CONFIGS = {
    "per_host": "gunicorn.conf.py",
    # The same, each host's listener waiting and acknowledging through psycopg's Connection
    # as before web.listening: what that costs each write, side by side.
    "per_host_connection": "bench/gunicorn_connection_listener.conf.py",
    "per_worker": "bench/gunicorn_worker_listeners.conf.py",
}
# The same revocations with one host of the design in use: what a write costs before the
# fleet grows, so that the growth is the difference between two rows of one run.
ONE_HOST = "one_host"
LABELS = {
    ONE_HOST: "per host, 1",
    "per_host": "per host",
    "per_host_connection": "psycopg conn",
    "per_worker": "per worker",
}
# Targets of issue 26: revoke p95, writes per revoke against the number of hosts, and
# connections against hosts + the request pool.
TARGET_P95_MS = 10.0
STATS_SETTLE = 11.0  # PostgreSQL reports an idle session's statistics within 10 s


def fleet_growth(env, *, hosts, workers, revocations, progress):
    # Here, not at the top: bench.report reads this module's tables without Django set up.
    from tenants.models import Role, Tenant, User
    from tokens.services import token_issue

    if connection.vendor != "postgresql":
        return {"skipped": "the fleet shares PostgreSQL: run with --db postgres"}
    tenant = Tenant.objects.create(slug="fleet", name="Fleet")
    admin = User.objects.create_user("admin@fleet.bench", None, tenant=tenant, role=Role.FULL_ADMIN)
    results = {"hosts": hosts, "workers_per_host": workers, "revocations": revocations}
    runs = [(ONE_HOST, 1, CONFIGS["per_host"])]
    runs += [(mode, hosts, config) for mode, config in CONFIGS.items()]
    for mode, count, config in runs:
        tokens = [token_issue(owner=admin, name=f"{mode} {n}").token for n in range(revocations)]
        progress(f"fleet: {count} hosts x {workers} workers, {mode.replace('_', ' ')}")
        with (
            tempfile.TemporaryDirectory(prefix="portal-bench-fleet-") as directory,
            _fleet(env, Path(directory), count, workers, config) as expected,
        ):
            results[mode] = _revoke_all(tokens, admin, expected)
    return results


@contextlib.contextmanager
def _fleet(env, directory, hosts, workers, config):
    started = []
    try:
        for number in range(hosts):
            port = free_port()
            tmp = directory / f"tmp-{number}"
            tmp.mkdir()
            host_env = {
                **env,
                "PORT": str(port),
                "PORTAL_PORT": str(port),
                "TMPDIR": str(tmp),
                "WEB_CONCURRENCY": str(workers),
                "DRAIN_SECONDS": "0",
            }
            host = Gunicorn(host_env, directory / f"host-{number}.log", config=config)
            host.start(probe=False)
            started.append(host)
        expected = hosts * workers if config == CONFIGS["per_worker"] else hosts
        deadline = time.monotonic() + 60
        while _live_listeners() < expected:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{_live_listeners()} of {expected} listeners registered")
            time.sleep(0.2)
        yield expected
    finally:
        for host in started:
            host.stop()


@contextlib.contextmanager
def _mark_after_commit():
    # The backend's pre-commit step skipped: web.invalidation._settle then takes the mark in a
    # transaction of its own once the write has committed, as it does for an autocommit write.
    from web import invalidation

    before_commit = invalidation.before_commit
    invalidation.before_commit = lambda db: None
    try:
        yield
    finally:
        invalidation.before_commit = before_commit


def _revoke_all(tokens, admin, listeners):
    from tokens.models import Token
    from tokens.services import token_revoke

    connections_held = _connections()
    listening = _query(f"SELECT pid, backend_pid FROM {LISTENERS} WHERE lease_until > now()")  # noqa: S608
    # A session's statistics reach pg_stat_user_tables when it next ends a transaction a
    # second after its last report, or after 10 s idle: each window below starts and ends
    # only once everything before it has been reported.
    time.sleep(STATS_SETTLE)
    writes_before = _listener_writes()
    started = time.monotonic()
    cpu_before = _cpu_seconds(listening)
    durations, after_commit = [], []
    for number, token in enumerate(tokens):
        token = Token.objects.select_related("tenant", "owner").get(pk=token.pk)
        alternate = number % 2 == 1
        with _mark_after_commit() if alternate else contextlib.nullcontext():
            began = time.perf_counter()
            token_revoke(token=token, by=admin)
            elapsed = (time.perf_counter() - began) * 1000
        (after_commit if alternate else durations).append(elapsed)
    seconds = time.monotonic() - started
    cpu_after = _cpu_seconds(listening)
    time.sleep(STATS_SETTLE)
    writes_after = _listener_writes()
    window = time.monotonic() - started
    # The same length of time with no revocation: the lease renewals an idle fleet writes
    # anyway, so that what is left is what the revocations cost.
    time.sleep(window)
    renewals = _listener_writes() - writes_after
    writes = writes_after - writes_before
    return {
        "listeners": listeners,
        "revoke_ms": percentiles(durations),
        "revoke_ms_mark_after_commit": percentiles(after_commit),
        "seconds": seconds,
        "listener_writes": writes,
        "idle_renewals": renewals,
        "writes_per_revoke": writes / len(tokens),
        "writes_per_revoke_beyond_idle": max(writes - renewals, 0) / len(tokens),
        "connections": connections_held,
        # CPU per revocation of one listener: its process (a host's gunicorn master, or a
        # worker) and its PostgreSQL session, the cost each host adds to every write.
        "listener_cpu_us": (cpu_after[0] - cpu_before[0]) / len(listening) / len(tokens) * 1e6,
        "listener_session_cpu_us": (cpu_after[1] - cpu_before[1])
        / len(listening)
        / len(tokens)
        * 1e6,
    }


def _cpu_seconds(listening):
    """CPU time (user and system) used so far by the listeners' processes and by their
    PostgreSQL sessions: the fleet's hosts and PostgreSQL run on this machine."""
    processes = sessions = 0.0
    for pid, backend_pid in listening:
        processes += _process_cpu(pid)
        sessions += _process_cpu(backend_pid)
    return processes, sessions


def _process_cpu(pid):
    # Nanoseconds on a CPU, summed over the process's threads (schedstat's first field): the
    # clock ticks of /proc/PID/stat (10 ms) are too coarse for a second of revocations.
    nanoseconds = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            nanoseconds += int((task / "schedstat").read_text().split()[0])
    return nanoseconds / 1e9


def _query(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _live_listeners():
    return _query(f"SELECT count(*) FROM {LISTENERS} WHERE lease_until > now()")[0][0]  # noqa: S608


def _listener_writes():
    return _query(
        # Acknowledgements and lease renewals are UPDATEs; a registration's INSERT is not a
        # cost of writing.
        "SELECT COALESCE(n_tup_upd, 0) FROM pg_stat_user_tables WHERE relname = %s",
        [LISTENERS],
    )[0][0]


def _connections():
    # Every session on this database but this process's own.
    return _query(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid()"
    )[0][0]


def report_lines(name, result):
    """The side-by-side table of bench.report."""
    if "skipped" in result:
        return [f"{name}, fleet: skipped ({result['skipped']})"]
    lines = [
        f"Fleet growth [{name}]: {result['hosts']} hosts x {result['workers_per_host']} workers, "
        f"{result['revocations']} revocations each, idle fleet",
        f"  {'listeners':<12} {'live':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} "
        f"{'writes/revoke':>14} {'beyond idle':>12} {'connections':>12}",
    ]
    # Results of a run before the one-host row have none.
    for mode in [m for m in (ONE_HOST, *CONFIGS) if m in result]:
        row = result[mode]
        ms = row["revoke_ms"]
        lines.append(
            f"  {LABELS[mode]:<12} {row['listeners']:>5} {ms['p50']:>8.1f} "
            f"{ms['p95']:>8.1f} {ms['max']:>8.1f} {row['writes_per_revoke']:>14.1f} "
            f"{row['writes_per_revoke_beyond_idle']:>12.1f} {row['connections']:>12}"
        )
    # Results of a run before the CPU figures have none.
    modes = [m for m in (ONE_HOST, *CONFIGS) if "listener_cpu_us" in result.get(m, {})]
    if modes:
        lines.append("  CPU per revocation of one listener, in µs: its process + its session")
        for mode in modes:
            row = result[mode]
            lines.append(
                f"  {LABELS[mode]:<12} {row['listeners']:>5} {row['listener_cpu_us']:>8.0f} "
                f"{row['listener_session_cpu_us']:>8.0f}"
            )
    # Results of a run before the alternate revocations have none.
    modes = [m for m in (ONE_HOST, *CONFIGS) if "revoke_ms_mark_after_commit" in result.get(m, {})]
    if modes:
        lines.append("  the other half, each marked after its commit (the way before):")
        for mode in modes:
            ms = result[mode]["revoke_ms_mark_after_commit"]
            lines.append(
                f"  {LABELS[mode]:<12} {result[mode]['listeners']:>5} {ms['p50']:>8.1f} "
                f"{ms['p95']:>8.1f} {ms['max']:>8.1f}"
            )
    return lines


def verdicts(name, result):
    """Issue 26's targets for the design in use (listeners per host)."""
    if "skipped" in result:
        return []
    row, hosts = result["per_host"], result["hosts"]
    p95 = row["revoke_ms"]["p95"]
    label = f"[{name}, {hosts} hosts x {result['workers_per_host']} workers]"
    # Idle workers hold no request connection; the fleet's own are its listeners'.
    return [
        {
            "result": "PASS" if p95 <= TARGET_P95_MS else "FAIL",
            "target": f"{label} revoke p95 <= {TARGET_P95_MS:g} ms",
            "measured": f"{p95:.1f} ms ("
            + (
                f"one host: {result[ONE_HOST]['revoke_ms']['p95']:.1f} ms; "
                if ONE_HOST in result
                else ""
            )
            + (
                "listeners through psycopg's Connection: "
                f"{result['per_host_connection']['revoke_ms']['p95']:.1f} ms; "
                if "per_host_connection" in result
                else ""
            )
            + f"one listener per worker: {result['per_worker']['revoke_ms']['p95']:.1f} ms)",
        },
        {
            "result": "PASS" if row["writes_per_revoke_beyond_idle"] <= hosts else "FAIL",
            "target": f"{label} listener writes per revoke <= hosts ({hosts}), beyond the "
            "lease renewals of an idle fleet",
            "measured": f"{row['writes_per_revoke_beyond_idle']:.1f}; "
            f"{row['writes_per_revoke']:.1f} with renewals (one listener per worker: "
            f"{result['per_worker']['writes_per_revoke_beyond_idle']:.1f}; "
            f"{result['per_worker']['writes_per_revoke']:.1f})",
        },
        {
            "result": "PASS" if row["connections"] <= hosts else "FAIL",
            "target": f"{label} connections held by the idle fleet <= hosts ({hosts}) "
            "+ the request pool",
            "measured": f"{row['connections']} (one listener per worker: "
            f"{result['per_worker']['connections']})",
        },
    ]
