"""Part "retention" (issue 26, item 6), PostgreSQL only: a tenant with 10,000,000 audit events.

Measured: the SIEM feed's page of 1,000 at 10,000,000 events beside the same page at 1,000
(bench.feed's timing, in the same rounds), and one retention pass (audit.retention.purge)
that deletes the oldest tenth, while another thread appends an audit event to the same tenant
every WRITE_EVERY seconds and times each: a writer that waited on the pass's locks shows as
a slow write. Targets: page <= 2 x the 1,000-event page; no write waits more than 1 s.

The events are made by PostgreSQL itself (generate_series), a million per statement: built in
Python, as bench.feed does for its million, ten million would take most of the hour.
"""

import contextlib
import dataclasses
import threading
import time

from django.db import close_old_connections, connection

from .timing import percentiles

# The models and bench.feed are imported where they are used: bench.report reads this
# module's tables in a process without Django set up.

CHUNK = 1_000_000
WRITE_EVERY = 0.01
RETENTION_DAYS = 657  # of the 730 days seeded: a first pass deletes the oldest tenth
TARGET_PAGE_RATIO = 2.0
TARGET_WRITE_WAIT_MS = 1000.0


def retention_scale(*, size, rounds, progress):
    from . import feed

    if connection.vendor != "postgresql":
        return {"skipped": "10,000,000 events: run with --db postgres"}
    progress("retention: seeding a tenant with 1,000 events")
    small = feed.seed_feed_tenant(1_000, slug="kept")
    progress(f"retention: seeding a tenant with {size:,} events in PostgreSQL")
    started = time.monotonic()
    large = _seed_large(size)
    seeded = time.monotonic() - started
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE audit_auditevent")
    progress(f"retention: feed pages, {rounds} interleaved rounds")
    pages = feed.feed_scale([small, large], rounds=rounds)
    progress(f"retention: one pass keeping {RETENTION_DAYS} days, with a writer beside it")
    return {
        "size": size,
        "seed_seconds": seeded,
        "feed": pages,
        "pass": _pass_with_writer(large.tenant_id),
    }


def _seed_large(size):
    from audit.models import Action, AuditCounter
    from tenants.models import Tenant

    from . import feed

    tenant = feed.seed_feed_tenant(1, slug="retain")
    owner = Tenant.objects.get(pk=tenant.tenant_id).users.order_by("pk").first()
    with _indexes_built_after():
        _insert_events(tenant, owner, size, Action.USER_SIGNED_IN.value)
    AuditCounter.objects.filter(tenant_id=tenant.tenant_id).update(last=size)
    return dataclasses.replace(tenant, size=size)


@contextlib.contextmanager
def _indexes_built_after():
    """The model's secondary indexes and constraints dropped while rows pour in, and built
    again, from the model's own definitions, once they are in: one sort each instead of ten
    million index insertions."""
    from audit.models import AuditEvent

    meta = AuditEvent._meta
    with connection.schema_editor() as editor:
        for index in meta.indexes:
            editor.remove_index(AuditEvent, index)
        for constraint in meta.constraints:
            editor.remove_constraint(AuditEvent, constraint)
    try:
        yield
    finally:
        with connection.schema_editor() as editor:
            for constraint in meta.constraints:
                editor.add_constraint(AuditEvent, constraint)
            for index in meta.indexes:
                editor.add_index(AuditEvent, index)


def _insert_events(tenant, owner, size, action):
    for start in range(2, size + 1, CHUNK):
        stop = min(start + CHUNK - 1, size)
        with connection.cursor() as cursor:
            # Oldest first over two years, as bench.feed spreads them: time order is
            # sequence order.
            cursor.execute(
                "INSERT INTO audit_auditevent (tenant_id, public_id, created_at, action, via, "
                "actor_id, actor_email, subject_id, subject_email, token_id, token_name, "
                "client_ip, detail, sequence) "
                "SELECT %s, gen_random_uuid(), "
                "now() - interval '730 days' * (1 - s::float8 / %s), %s, 'page', "
                "%s, %s, %s, %s, NULL, '', ('10.' || s %% 256 || '.0.7')::inet, '', s "
                "FROM generate_series(%s, %s) AS s",
                [
                    tenant.tenant_id,
                    size,
                    action,
                    owner.pk,
                    owner.email,
                    owner.pk,
                    owner.email,
                    start,
                    stop,
                ],
            )


def _pass_with_writer(tenant_id):
    from audit import retention
    from audit.models import Action
    from audit.services import audit_record
    from tenants.models import Tenant

    tenant = Tenant.objects.get(pk=tenant_id)
    waits, stop = [], threading.Event()

    def write():
        try:
            while not stop.is_set():
                began = time.perf_counter()
                audit_record(tenant=tenant, action=Action.USER_SIGNED_IN, detail="beside")
                waits.append((time.perf_counter() - began) * 1000)
                stop.wait(WRITE_EVERY)
        finally:
            close_old_connections()
            connection.close()

    writer = threading.Thread(target=write, name="audit-writer")
    writer.start()
    try:
        time.sleep(0.5)  # the writer's steady pace first
        started = time.monotonic()
        deleted = retention.purge(tenant_id, RETENTION_DAYS)
        seconds = time.monotonic() - started
    finally:
        stop.set()
        writer.join()
    return {
        "deleted": deleted,
        "seconds": seconds,
        "batches": -(-deleted // retention.BATCH),
        "writes": len(waits),
        "write_ms": percentiles(waits),
    }


def report_lines(name, result):
    if "skipped" in result:
        return [f"{name}, retention: skipped ({result['skipped']})"]
    rows = result["feed"]["rows"]
    big = max((row for row in rows if row["events"] == result["size"]), key=lambda r: r["ms"])
    small = next(row for row in rows if row["events"] == 1_000)
    one = result["pass"]
    return [
        f"Audit retention [{name}]: {result['size']:,} events (seeded in "
        f"{result['seed_seconds']:.0f} s)",
        f"  SIEM feed page of 1,000: {small['ms']:.1f} ms at 1,000 events, worst "
        f"{big['ms']:.1f} ms at {big['events']:,} ({big['position']}), "
        f"{big['ratio_to_smallest']:.2f} x",
        f"  one pass: {one['deleted']:,} events deleted in {one['seconds']:.1f} s "
        f"({one['batches']:,} batches); {one['writes']:,} audit writes beside it, "
        f"p50 {one['write_ms']['p50']:.1f} ms, p95 {one['write_ms']['p95']:.1f} ms, "
        f"max {one['write_ms']['max']:.1f} ms",
    ]


def verdicts(name, result):
    if "skipped" in result:
        return []
    rows = result["feed"]["rows"]
    worst = max(row["ratio_to_smallest"] for row in rows if row["events"] == result["size"])
    longest = result["pass"]["write_ms"]["max"]
    label = f"[{name}, {result['size']:,} audit events]"
    return [
        {
            "result": "PASS" if worst <= TARGET_PAGE_RATIO else "FAIL",
            "target": f"{label} SIEM feed page <= {TARGET_PAGE_RATIO:g} x the 1,000-event page",
            "measured": f"{worst:.2f} x",
        },
        {
            "result": "PASS" if longest <= TARGET_WRITE_WAIT_MS else "FAIL",
            "target": f"{label} a retention pass blocks no writer more than 1 s",
            "measured": f"slowest audit write beside it {longest:.1f} ms "
            f"({result['pass']['deleted']:,} deleted in {result['pass']['seconds']:.0f} s)",
        },
    ]
