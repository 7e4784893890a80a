"""Part 2: requests per second through gunicorn (the project's gunicorn.conf.py, 2 workers)
on 127.0.0.1, for each route to the tiny JSON body, rounds interleaved."""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from . import loadgen
from .timing import median, median_ratio, rotated
from .variants import PLAIN, VARIANTS

ROOT = Path(__file__).resolve().parent.parent
PORTS = range(8200, 8300)  # the range this harness may use
WORKERS = 2
CONNECTIONS = 4  # two per sync worker: one being served while the next one connects
LOG_TAIL = 2000


def free_port():
    for port in PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 8200-8299")


def workers_cpu_seconds(master_pid):
    """CPU time used so far by the gunicorn master's children (Linux /proc), or None.

    Throughput on a shared machine moves with whatever else runs; the workers' CPU time per
    request does much less, so the report shows both."""
    total = 0
    try:
        stats = list(Path("/proc").glob("[0-9]*/stat"))
    except OSError:
        return None
    for stat in stats:
        try:
            # After "pid (comm)": state, ppid, ... utime and stime are the 12th and 13th.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # a process that ended meanwhile
        if int(fields[1]) == master_pid:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK") if stats else None


@contextmanager
def gunicorn(port):
    """The portal's own gunicorn configuration, with the bench settings and database."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "WEB_CONCURRENCY": str(WORKERS),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "DRAIN_SECONDS": "0",  # no load balancer to wait for: stop at once
    }
    command = [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py"]
    if _has_option("--no-control-socket"):
        # gunicorn 27 opens a control socket at one path per user by default; a bench server
        # must not take it over from a portal someone runs beside it.
        command.append("--no-control-socket")
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
        try:
            _wait_until_up(server, port, log)
            yield server.pid
        except Exception:
            print(f"gunicorn's log ends with:\n{_tail(log)}", file=sys.stderr)
            raise
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _has_option(flag):
    from gunicorn.config import KNOWN_SETTINGS

    return any(flag in (setting.cli or ()) for setting in KNOWN_SETTINGS)


def _wait_until_up(server, port, log, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{PLAIN}", timeout=10):
                return
        except OSError:  # refused until the master listens; slow while workers boot
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not start on port {port}:\n{_tail(log)}")


def _tail(log):
    log.seek(0)
    return log.read().decode(errors="replace")[-LOG_TAIL:]


def _get(url, headers, label):
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        raise SystemExit(f"{label}: expected 200 over HTTP, got {error.code}") from error


def warm_up(url, headers, label, *, clients=CONNECTIONS, calls=10):
    """A few concurrent clients, so that every worker has imported, connected and seen this
    route (and its token's first-use write is done) before anything is measured."""
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(lambda _: _get(url, headers, label), range(clients * calls)))


def throughput(fixtures, *, rounds, seconds):
    port = free_port()
    targets = {}
    for variant in VARIANTS:
        headers = {"Accept": "application/json"}
        if authorization := variant.authorization(fixtures):
            headers["Authorization"] = authorization
        targets[variant.key] = (f"http://127.0.0.1:{port}{variant.path}", headers)

    def load(key, duration):
        url, headers = targets[key]
        try:
            return loadgen.run(url, seconds=duration, connections=CONNECTIONS, headers=headers)
        except RuntimeError as error:
            # One retry: on a shared machine a load generator can fail to start for reasons
            # of its own (e.g. a transient connect error); a second failure is reported.
            print(f"  retrying once: {error}", file=sys.stderr)
            time.sleep(1)
            return loadgen.run(url, seconds=duration, connections=CONNECTIONS, headers=headers)

    keys = list(targets)
    rates = {key: [] for key in keys}
    cpu = {key: [] for key in keys}
    failures = {key: 0 for key in keys}
    with gunicorn(port) as master:
        for variant in VARIANTS:
            warm_up(*targets[variant.key], variant.label)
        for round_number in range(rounds):
            for key in rotated(keys, round_number):
                before = workers_cpu_seconds(master)
                result = load(key, seconds)
                after = workers_cpu_seconds(master)
                rates[key].append(result.per_second)
                failures[key] += result.failures
                if before is not None and after is not None and result.requests:
                    cpu[key].append((after - before) / result.requests * 1e6)

    return {
        "load_generator": loadgen.describe(CONNECTIONS),
        "workers": WORKERS,
        "rounds": rounds,
        "seconds_per_run": seconds,
        "variants": variant_rows(VARIANTS, rates, cpu, failures),
        "samples_rps": rates,
    }


def variant_rows(variants, rates, cpu, failures):
    """One result row per variant from its samples: median req/s, ratio to (a), worker CPU
    per request (when measured) and failed requests."""
    return [
        {
            "key": variant.key,
            "label": variant.label,
            "requests_per_second": median(rates[variant.key]),
            "ratio_to_a": median_ratio(rates[variant.key], rates["a"]),
            "worker_cpu_us_per_request": median(cpu[variant.key]) if cpu["a"] else None,
            "failures": failures[variant.key],
        }
        for variant in variants
    ]
