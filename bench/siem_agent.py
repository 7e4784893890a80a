"""Part 8: how many events a second one portal-siem-agent delivers to a real syslog receiver.

Issue 16: at least 5,000 events a second. The agent runs as its own process, as on a
customer's machine, against the portal in gunicorn (the bench settings and database, as in
part 2) and Debian's rsyslogd on a loopback port writing each message to a file; the clock
stops when the file holds every event. Integrity is checked on the way: every event once, in
feed order.
"""

import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.db import connection

from audit.models import AuditEvent
from integrations.models import SiemAgent, SiemFormat
from tokens.models import Token, TokenKind

from . import feed
from .http_auth import free_port, gunicorn, workers_cpu_seconds

ROOT = Path(__file__).resolve().parent.parent
EXTERNAL_ID = re.compile(r"externalId=([0-9a-f-]{36})")
TARGET_EVENTS_PER_SECOND = 5000


def agent_throughput(size):
    from testbed.rsyslog import RSYSLOGD, Rsyslog

    if not os.path.exists(RSYSLOGD):
        return {"skipped": "rsyslogd is not installed (make test installs Debian's rsyslog)"}
    seeded = feed.seed_feed_tenant(size, slug="agent")
    token = Token.objects.get(tenant_id=seeded.tenant_id, kind=TokenKind.SIEM)
    with tempfile.TemporaryDirectory() as folder:
        receiver = Rsyslog(folder).start()
        try:
            SiemAgent.objects.create(
                tenant_id=seeded.tenant_id,
                name="Bench agent",
                token=token,
                created_by=token.owner,
                format=SiemFormat.CEF,
                host="127.0.0.1",
                port=receiver.port,
            )
            events = AuditEvent.objects.filter(tenant_id=seeded.tenant_id).order_by("sequence")
            expected = list(events.values_list("public_id", flat=True))
            connection.close()  # the server's workers open their own
            port = free_port()
            with gunicorn(port) as master:
                result = _deliver(port, seeded.token, Path(folder), receiver, len(expected))
                result["server_cpu_seconds"] = workers_cpu_seconds(master)
        finally:
            receiver.stop()
    received = [EXTERNAL_ID.search(line).group(1) for line in result.pop("lines")]
    result.update(
        events=len(expected),
        lost=len({str(i) for i in expected} - set(received)),
        duplicates=len(received) - len(set(received)),
        in_order=received == [str(i) for i in expected],
    )
    return result


def _deliver(port, secret, folder, receiver, count):
    command = [sys.executable, "-m", "siem_agent", "--url", f"http://127.0.0.1:{port}"]
    command += ["--state", str(folder / "state.json"), "--once"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    finished = subprocess.run(  # noqa: S603
        command,
        cwd=ROOT,
        env={**os.environ, "PORTAL_SIEM_AGENT_TOKEN": secret},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    agent_exited = time.monotonic()
    lines = receiver.wait_for(count, timeout=120)
    received = time.monotonic()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if finished.returncode != 0:
        raise RuntimeError(f"the agent failed: {finished.stderr}")
    seconds = received - started
    return {
        "seconds": seconds,
        "agent_seconds": agent_exited - started,
        "events_per_second": len(lines) / seconds,
        "agent_cpu_seconds": (after.ru_utime + after.ru_stime)
        - (before.ru_utime + before.ru_stime),
        "lines": lines,
    }
