"""A bounded HTTP load: wrk when it is installed, else a small threaded Python client.

Both stop after a fixed duration and report requests per second plus every failure, so a
variant answering errors can never look fast.
"""

import http.client
import math
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Load:
    requests: int
    seconds: float
    failures: int  # non-2xx answers plus socket errors

    @property
    def per_second(self):
        return self.requests / self.seconds if self.seconds else 0.0


def describe(connections):
    if shutil.which("wrk"):
        banner = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout
        version = banner.split()[1] if len(banner.split()) > 1 else "?"
        return f"wrk {version}, 1 thread, {connections} connections"
    return f"Python http.client, {connections} threads (wrk not installed)"


def run(url, *, seconds, connections, headers):
    if shutil.which("wrk"):
        return _wrk(url, seconds=seconds, connections=connections, headers=headers)
    return _threads(url, seconds=seconds, connections=connections, headers=headers)


def _wrk(url, *, seconds, connections, headers):
    seconds = max(1, math.ceil(seconds))  # wrk takes whole seconds only
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", url]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30)
    output = finished.stdout
    if finished.returncode != 0:
        raise RuntimeError(f"wrk failed on {url}: {(finished.stderr or output).strip()}")
    total = re.search(r"(\d+) requests in ([\d.]+)(m?s)", output)
    if total is None:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    elapsed = float(total.group(2)) / (1000 if total.group(3) == "ms" else 1)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    # "read" errors are left out: gunicorn's sync workers close every connection after the
    # response, which wrk counts as a read error although the answer was complete.
    socket = re.search(r"connect (\d+), read \d+, write (\d+), timeout (\d+)", output)
    failures = (int(non_2xx.group(1)) if non_2xx else 0) + (
        sum(int(n) for n in socket.groups()) if socket else 0
    )
    return Load(requests=int(total.group(1)), seconds=elapsed, failures=failures)


def _threads(url, *, seconds, connections, headers):
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    deadline = time.monotonic() + seconds
    tallies = [[0, 0] for _ in range(connections)]  # per thread: answers, failures

    def client(tally):
        while time.monotonic() < deadline:
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
            try:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                response.read()
                tally[0 if 200 <= response.status < 300 else 1] += 1
            except OSError:
                tally[1] += 1
            finally:
                connection.close()

    threads = [threading.Thread(target=client, args=(tally,)) for tally in tallies]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - start
    return Load(
        requests=sum(t[0] + t[1] for t in tallies),
        seconds=elapsed,
        failures=sum(t[1] for t in tallies),
    )
