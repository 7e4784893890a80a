"""Part 7: does the SIEM event feed answer a page of 1,000 as fast at 1,000,000 events?

Issue 16: GET /api/v1/siem/events/?limit=1000 in a tenant with 1,000,000 audit events must
take at most twice the time it takes in a tenant with 1,000, wherever the cursor stands. Both
tenants live in one database and are timed in the same rounds, as in bench.pages.
"""

import json
import random
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone

from audit.models import Action, AuditCounter, AuditEvent, Via
from integrations.api import FEED_LIMIT_MAX, encode_cursor
from tenants.models import Role, Tenant, User
from tokens import crypto
from tokens.models import Token, TokenKind
from tokens.services import token_issue

from .database import large_sqlite_cache
from .driver import WsgiClient, expect_ok
from .timing import count_queries, interleaved_rounds, median

FEED = "/api/v1/siem/events/"
PAGE = FEED_LIMIT_MAX  # the largest page an agent may ask for: the worst case per request
HISTORY = timedelta(days=730)
MEMBERS = 5  # besides the admin: the actors and subjects of the events
TOKENS = 40  # tokens the token events are about
BUILD_BATCH = 10_000  # events built in Python at a time, so 1,000,000 never sit in memory
FEED_INDEX = "audit_tenant_sequence_uniq"
COLUMNS = (
    "tenant_id",
    "public_id",
    "created_at",
    "action",
    "via",
    "actor_id",
    "actor_email",
    "subject_id",
    "subject_email",
    "token_id",
    "token_name",
    "client_ip",
    "detail",
    "sequence",
)

# (action, via, about a token, weight): mostly sign-ins and token life, like a live tenant.
EVENT_MIX = (
    (Action.USER_SIGNED_IN, Via.PAGE, False, 30),
    (Action.USER_SIGNED_IN, Via.SSO, False, 15),
    (Action.USER_SIGN_IN_FAILED, Via.PAGE, False, 8),
    (Action.TOKEN_GENERATED, Via.PAGE, True, 12),
    (Action.TOKEN_GENERATED, Via.API, True, 6),
    (Action.TOKEN_ROTATED, Via.API, True, 6),
    (Action.TOKEN_REVOKED, Via.PAGE, True, 6),
    (Action.TOKEN_EXPIRED, Via.SWEEP, True, 5),
    (Action.TOKEN_DENIED_DEPROVISIONED, Via.API, True, 2),
    (Action.TOKEN_USED_AFTER_ROLE_CHANGE, Via.API, True, 2),
    (Action.USER_ROLE_CHANGED, Via.PAGE, False, 3),
    (Action.USER_PROVISIONED, Via.SCIM, False, 2),
    (Action.USER_UPDATED, Via.SCIM, False, 1),
    (Action.USER_DEPROVISIONED, Via.SCIM, False, 1),
    (Action.POLICY_CHANGED, Via.PAGE, False, 1),
)
WEIGHTS = [weight for *_, weight in EVENT_MIX]
DETAILS = {
    Action.USER_SIGN_IN_FAILED: "Sign-in failed for {email}.",
    Action.TOKEN_GENERATED: "Expires {date} UTC.",
    Action.TOKEN_ROTATED: "Expires {date} UTC. Rotated; the old secret stops working now.",
    Action.TOKEN_REVOKED: "Revoked from the tokens page.",
    Action.TOKEN_EXPIRED: "Expired {date} UTC.",
    Action.TOKEN_DENIED_DEPROVISIONED: "Call refused: the owner is deprovisioned.",
    Action.TOKEN_USED_AFTER_ROLE_CHANGE: "Issued as Full admin, used as Security reader.",
    Action.USER_ROLE_CHANGED: "Security reader → Security operator.",
    Action.USER_UPDATED: "E-mail changed from old-{email}.",
    Action.POLICY_CHANGED: "Maximum token lifetime set to 90 days.",
}


@dataclass(frozen=True)
class FeedTenant:
    size: int  # audit events in the tenant
    tenant_id: int
    host: str
    token: str  # a SIEM agent token's secret


@transaction.atomic
def seed_feed_tenant(size, seed=16, slug="feed"):
    """A tenant with exactly `size` audit events numbered 1..size, as audit_record would have
    numbered them, and a SIEM agent token to read them with."""
    rng = random.Random(seed + size)
    now = timezone.now()
    tenant = Tenant.objects.create(slug=f"{slug}{size}", name=f"Feed {size:,}")
    admin = User.objects.create_user(
        f"admin@{tenant.slug}.bench", None, tenant=tenant, role=Role.FULL_ADMIN
    )
    members = [admin] + [
        User.objects.create_user(
            f"member{n}@{tenant.slug}.bench", None, tenant=tenant, role=Role.SECURITY_OPERATOR
        )
        for n in range(MEMBERS)
    ]
    # Issuing writes the tenant's first event (sequence 1) through the real path.
    secret = token_issue(owner=admin, name="Bench SIEM agent", kind=TokenKind.SIEM).secret
    Token.objects.bulk_create(
        Token(
            tenant=tenant,
            owner=members[n % len(members)],
            name=f"Integration {n}",
            digest=crypto.digest(uuid.uuid4().hex),
            hint=crypto.PREFIX + f"{n:04d}",
        )
        for n in range(TOKENS)
    )
    tokens = list(Token.objects.filter(tenant=tenant).values_list("pk", "name"))
    first = AuditEvent.objects.get(tenant=tenant).sequence
    # Back-dated to the start of the history, so time order is sequence order throughout.
    AuditEvent.objects.filter(tenant=tenant).update(created_at=now - HISTORY)
    row = _row_maker(rng, now, tenant, members, tokens, size)
    with large_sqlite_cache():
        for start in range(first + 1, size + 1, BUILD_BATCH):
            stop = min(start + BUILD_BATCH, size + 1)
            _insert([row(sequence) for sequence in range(start, stop)])
    # The rows skipped save(): their sequences are set above, and the counter here.
    AuditCounter.objects.filter(tenant=tenant).update(last=size)
    return FeedTenant(size=size, tenant_id=tenant.pk, host=tenant.host, token=secret)


def _row_maker(rng, now, tenant, members, tokens, size):
    """A function from a sequence number to that event's row, in COLUMNS order, with values
    as Django would store them. Lookups are bound once: a million rows are made."""
    db = connections[DEFAULT_DB_ALIAS]  # the `connection` proxy costs a lookup per use
    stored_time = db.ops.adapt_datetimefield_value
    uuid_field = AuditEvent._meta.get_field("public_id")
    people = [(member.pk, member.email) for member in members]
    choices, choice, randrange = rng.choices, rng.choice, rng.randrange

    def stored_uuid(value):
        return uuid_field.get_db_prep_value(value, db)

    def row(sequence):
        action, via, about_token, _ = choices(EVENT_MIX, weights=WEIGHTS)[0]
        # Oldest first, evenly over two years: the time order is the sequence order.
        created = now - HISTORY * (1 - sequence / size)
        nobody = via in (Via.SWEEP, Via.SCIM) or action == Action.USER_SIGN_IN_FAILED
        actor_id, actor_email = (None, "") if nobody else choice(people)
        subject_id, subject_email = choice(people)
        token_id, token_name = choice(tokens) if about_token else (None, "")
        detail = DETAILS.get(action, "")
        if "{" in detail:
            detail = detail.format(
                email=subject_email, date=f"{created + timedelta(days=90):%Y-%m-%d %H:%M}"
            )
        return (
            tenant.pk,
            stored_uuid(uuid.uuid4()),
            stored_time(created),
            action.value,
            via.value,
            actor_id,
            actor_email,
            subject_id,
            subject_email,
            None if token_id is None else stored_uuid(token_id),
            token_name,
            None if via == Via.SWEEP else f"10.{randrange(256)}.{randrange(256)}.7",
            detail,
            sequence,
        )

    return row


def _insert(rows):
    """Rows straight into the table: bulk_create spent three quarters of a 1,000,000-event
    seed building and compiling model instances. PostgreSQL takes them by COPY."""
    table = AuditEvent._meta.db_table
    names = ", ".join(connection.ops.quote_name(column) for column in COLUMNS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(COLUMNS))
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)


def positions(size):
    """Where the cursor stands for each timed page: a page of PAGE events is left at each."""
    if size <= PAGE:
        return {"start": 0}
    return {"start": 0, "middle": size // 2, "end": size - PAGE}


def feed_scale(tenants, *, rounds):
    client = WsgiClient()
    requests = {}
    for tenant in tenants:
        for where, after in positions(tenant.size).items():
            requests[(tenant.size, where)] = client.prepare(
                f"{FEED}?limit={PAGE}&cursor={encode_cursor(after)}",
                host=tenant.host,
                authorization=f"Token {tenant.token}",
            )
    # Two whole passes before counting, as in bench.pages: issuing the second tenant's token
    # makes the first one's cached token stale, which the first pass may not have seen yet.
    for _ in range(2):
        for key, request in requests.items():
            _expect_full_page(request, key)
    counted = {key: count_queries(request, 1) for key, request in requests.items()}
    wall, cpu = interleaved_rounds(requests, rounds=rounds, per_round=1)
    ms = {key: median(samples) / 1000 for key, samples in wall.items()}

    smallest = min(tenant.size for tenant in tenants)
    baseline = ms[(smallest, "start")]
    rows = [
        {
            "events": size,
            "position": where,
            "after": positions(size)[where],
            "ms": ms[(size, where)],
            "ratio_to_smallest": ms[(size, where)] / baseline,
            # This process's share (Python, JSON, CEF lines); PostgreSQL's work is left out.
            "cpu_ms": median(cpu[(size, where)]) / 1000,
            "queries": counted[(size, where)][0],
        }
        for size, where in requests
    ]
    largest = max(tenant.size for tenant in tenants)
    plans = {where: _plan(counted[(largest, where)][2]) for where in positions(largest)}
    return {
        "rounds": rounds,
        "page": PAGE,
        "sizes": sorted(tenant.size for tenant in tenants),
        "rows": rows,
        "index_used": all(walks_feed_index(plan, connection.vendor) for plan in plans.values()),
        "plans": plans,
    }


def _expect_full_page(request, key):
    """Time only pages that hold PAGE events: a short page would flatter its position."""
    events = json.loads(expect_ok(request, f"feed {key}"))["events"]
    if len(events) != PAGE:
        raise SystemExit(f"feed {key}: expected {PAGE} events, got {len(events)}")


def walks_feed_index(plan, vendor):
    """Whether the plan reads the events in order from the (tenant, sequence) index, rather
    than scanning the tenant and sorting: the page then costs the same wherever it starts."""
    if vendor == "sqlite":
        # The unique constraint is built into the table there, so its index is unnamed.
        return "(tenant_id=? AND sequence>?)" in plan and "TEMP B-TREE" not in plan
    return FEED_INDEX in plan and "Sort" not in plan


def _plan(sqls):
    """The query plan of the request's read of the audit trail, as the database tells it."""
    [feed_query] = [sql for sql in sqls if "audit_auditevent" in sql and "sequence" in sql]
    explain = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN ANALYZE "
    with connection.cursor() as cursor:
        cursor.execute(explain + feed_query)
        return "\n".join(" ".join(str(cell) for cell in row) for row in cursor.fetchall())
