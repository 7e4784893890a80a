"""Revocations at a steady rate in one tenant, from a process of their own: another host's
writer, as far as the process being measured can tell. ``python -m bench.churn`` is that
process; revoking() starts and stops it.

Each revocation goes through the real service (tokens.services.token_revoke), so it sends its
NOTIFY and waits, after the commit, until every live listener has acknowledged it: the
measured process's listener hears and acknowledges every one of them. The process only
writes, so it runs no listener of its own (web.invalidation starts one for readers only).
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def revoking(tenant_id, admin_id, *, rate):
    """Revoke live tokens of the tenant at `rate` per second until the block ends; the
    summary (count, seconds, each revocation's ms) is in the yielded dict afterwards."""
    command = [sys.executable, "-m", "bench.churn", str(tenant_id), str(admin_id), str(rate)]
    process = subprocess.Popen(command, cwd=ROOT, env=os.environ, stdout=subprocess.PIPE, text=True)
    summary = {}
    try:
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError("the revoking process did not start")
        yield summary
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=60)
        if process.returncode == 0 and out.strip():
            summary.update(json.loads(out.strip().splitlines()[-1]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("tenant_id", type=int)
    parser.add_argument("admin_id", type=int)
    parser.add_argument("rate", type=float)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    django.setup()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(json.dumps(_revoke_until(stop, args.tenant_id, args.admin_id, args.rate)))


def _revoke_until(stop, tenant_id, admin_id, rate):
    from audit.models import Via
    from tenants.models import User
    from tokens.models import Token
    from tokens.services import token_revoke

    admin = User.objects.get(pk=admin_id)
    live = Token.objects.filter(tenant_id=tenant_id, revoked_at__isnull=True)
    ids = list(live.order_by("pk").values_list("pk", flat=True))
    print("ready", flush=True)
    durations, start = [], time.monotonic()
    for number, pk in enumerate(ids):
        # On a fixed schedule: a slow revocation is caught up on, not added to the gap.
        if stop.wait(max(0.0, start + number / rate - time.monotonic())):
            break
        token = Token.objects.select_related("owner", "tenant").get(pk=pk)
        began = time.perf_counter()
        token_revoke(token=token, by=admin, via=Via.API)
        durations.append((time.perf_counter() - began) * 1000)
    ran_out = len(durations) == len(ids)
    stop.wait()  # out of tokens early: the rate over the whole window shows it
    return {
        "rate_wanted": rate,
        "revocations": len(durations),
        "seconds": time.monotonic() - start,
        "ran_out": ran_out,
        "durations_ms": durations,
    }


if __name__ == "__main__":
    main()
