"""The SIEM event feed (CONTRACT §11): GET /api/v1/siem/events/ and its CEF lines."""

import base64
import random
import re
import threading
import time
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from django.db import close_old_connections, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.cef import cef_line, escape_header
from audit.models import Action, AuditEvent, Via
from audit.services import audit_record
from tenants.models import Tenant as TenantModel
from tests.api import api_client
from tokens.models import TokenKind

FEED = "/api/v1/siem/events/"


@pytest.fixture
def siem(issue, full_admin):
    """The secret of a SIEM agent token of the tenant."""
    return issue(full_admin, name="Splunk EU", kind=TokenKind.SIEM)[1]


def get(secret, **params):
    return api_client(secret).get(FEED, params)


def feed_ids(tenant):
    return [str(e.public_id) for e in AuditEvent.objects.filter(tenant=tenant).order_by("sequence")]


def read_all(secret, limit, cursor=None):
    """Every event from the cursor on, page by page; the ids and the last cursor."""
    ids = []
    while True:
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        response = get(secret, **params)
        assert response.status_code == 200
        body = response.json()
        ids += [event["id"] for event in body["events"]]
        if body["next_cursor"] == cursor or not body["events"]:
            return ids, body["next_cursor"]
        cursor = body["next_cursor"]


def make_events(tenant, count, **kwargs):
    for number in range(count):
        audit_record(
            tenant=tenant, action=Action.USER_SIGNED_IN, detail=f"event {number}", **kwargs
        )


# Who may read it


def test_only_siem_agent_tokens_are_accepted(issue, full_admin, siem):
    _, api_secret = issue(full_admin)
    _, collector = issue(full_admin, name="Collector", kind=TokenKind.LOG_COLLECTOR)
    assert get(None).status_code == 401
    refused = get(api_secret)
    assert refused.status_code == 403
    assert refused.json()["detail"] == "permission denied: this kind of token is not accepted here."
    assert get(collector).status_code == 403
    assert get(siem).status_code == 200


def test_another_tenants_events_are_never_shown(siem, tenant, other_tenant, other_tenant_admin):
    make_events(other_tenant, 3, actor=other_tenant_admin)
    make_events(tenant, 2)
    ids, _ = read_all(siem, 1000)
    assert ids == feed_ids(tenant)
    assert not set(ids) & set(feed_ids(other_tenant))


# Paging


def test_the_event_has_its_documented_fields(siem, tenant, full_admin):
    token = AuditEvent.objects.filter(tenant=tenant, token__isnull=False).get().token
    body = get(siem).json()
    event = body["events"][0]
    assert set(event) == {"id", "time", "action", "actor", "token", "client_ip", "detail", "cef"}
    assert event["token"] == {"id": str(token.id), "name": "Splunk EU", "hint": token.hint}
    assert event["action"] == Action.TOKEN_GENERATED and event["cef"].startswith("CEF:0|")


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 100, 1000])
def test_paging_gives_every_event_once_in_order(siem, tenant, full_admin, limit):
    make_events(tenant, 24, actor=full_admin)
    ids, _ = read_all(siem, limit)
    assert ids == feed_ids(tenant) and len(ids) == 25


def test_the_default_limit_is_100_and_the_most_1000(siem, tenant):
    AuditEvent.objects.bulk_create(
        AuditEvent(tenant=tenant, action=Action.USER_SIGNED_IN, sequence=number)
        for number in range(2, 1102)
    )
    assert len(get(siem).json()["events"]) == 100
    assert len(get(siem, limit=1000).json()["events"]) == 1000
    assert get(siem, limit=1001).status_code == 400


def test_replaying_a_cursor_gives_the_same_page(siem, tenant):
    make_events(tenant, 9)
    first = get(siem, limit=4).json()
    second = get(siem, limit=4, cursor=first["next_cursor"]).json()
    make_events(tenant, 3)
    replay = get(siem, limit=4, cursor=first["next_cursor"]).json()
    assert replay == second
    assert get(siem, limit=4).json()["events"] == first["events"]


def test_events_written_after_a_cursor_come_on_the_next_call(siem, tenant):
    ids, cursor = read_all(siem, 10)
    empty = get(siem, cursor=cursor).json()
    assert empty == {"events": [], "next_cursor": cursor}
    make_events(tenant, 2)
    later = get(siem, cursor=cursor).json()
    assert [e["detail"] for e in later["events"]] == ["event 0", "event 1"]
    assert ids + [e["id"] for e in later["events"]] == feed_ids(tenant)


def _cursor(text):
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "1001"},
        {"limit": "-1"},
        {"limit": "ten"},
        {"limit": "1.5"},
        {"limit": "٣"},
        {"cursor": "not a cursor"},
        {"cursor": "%%%"},
        {"cursor": _cursor("[]")},
        {"cursor": _cursor('{"v":1,"after":-1}')},
        {"cursor": _cursor('{"v":1,"after":"3"}')},
        {"cursor": _cursor('{"v":1,"after":true}')},
        {"cursor": _cursor('{"v":2,"after":3}')},
        {"cursor": _cursor('{"v":1,"after":1e400}')},
        {"cursor": "é"},
    ],
)
def test_a_bad_cursor_or_limit_is_a_400_that_says_which(siem, params):
    response = get(siem, **params)
    assert response.status_code == 400
    assert response.json()["detail"].startswith(next(iter(params)) + ":")


def test_a_page_costs_the_same_queries_whatever_its_size(
    siem, issue, tenant, full_admin, django_assert_max_num_queries
):
    make_events(tenant, 1)
    with CaptureQueriesContext(connection) as small:
        assert len(get(siem, limit=2).json()["events"]) == 2
    for number in range(30):
        token, _ = issue(full_admin, name=f"Token {number}")
        audit_record(tenant=tenant, action=Action.TOKEN_REVOKED, token=token, actor=full_admin)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert len(get(siem, limit=1000).json()["events"]) > 60


@pytest.mark.django_db(transaction=True)
def test_migrating_numbers_existing_events_per_tenant_by_time_then_id():
    before, after = [("audit", "0004_auditevent_public_id")], [("audit", "0005_feed_sequence")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    Tenant, Event = old.get_model("tenants", "Tenant"), old.get_model("audit", "AuditEvent")
    first, second = (
        Tenant.objects.create(slug="a", name="A"),
        Tenant.objects.create(slug="b", name="B"),
    )
    early, late = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    for tenant, when, detail in [
        (first, late, "a3"),
        (second, early, "b1"),
        (first, early, "a1"),
        (first, early, "a2"),
    ]:
        Event.objects.create(tenant=tenant, action="user.signed_in", created_at=when, detail=detail)
    executor = MigrationExecutor(connection)
    executor.migrate(after)
    new = executor.loader.project_state(after).apps.get_model("audit", "AuditEvent")
    numbered = new.objects.order_by("tenant_id", "sequence").values_list("detail", "sequence")
    assert list(numbered) == [("a1", 1), ("a2", 2), ("a3", 3), ("b1", 1)]
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    # The counters go on from there.
    assert (
        audit_record(
            tenant=TenantModel.objects.get(pk=first.pk), action=Action.USER_SIGNED_IN
        ).sequence
        == 4
    )


# CEF


def parse_extensions(text):
    """A small CEF extension parser: keys are words before an unescaped '='; a value runs to
    the space before the next key; escapes are undone."""
    equals, index = [], 0
    while index < len(text):
        if text[index] == "\\":
            index += 2
            continue
        if text[index] == "=":
            equals.append(index)
        index += 1
    keys = []
    for position in equals:
        start = text.rfind(" ", 0, position) + 1
        keys.append((text[start:position], start, position))
    result = {}
    for index, (key, _, position) in enumerate(keys):
        end = keys[index + 1][1] - 1 if index + 1 < len(keys) else len(text)
        raw = text[position + 1 : end]
        result[key] = re.sub(
            r"\\(.)", lambda m: {"n": "\n", "r": "\r"}.get(m.group(1), m.group(1)), raw, flags=re.S
        )
    return result


def split_header(line):
    """The seven header fields and the extension, split on unescaped pipes."""
    fields, current, chars = [], "", iter(line)
    for char in chars:
        if char == "\\":
            current += char + next(chars, "")
        elif char == "|" and len(fields) < 7:
            fields.append(current)
            current = ""
        else:
            current += char
    return fields, current


def unescape_header(value):
    return re.sub(r"\\(.)", r"\1", value)


def event(**fields):
    defaults = {
        "action": Action.TOKEN_REVOKED,
        "public_id": "5d1c3c8e-2f5b-4a8e-9a61-1c2d3e4f5a6b",
        "created_at": datetime(2026, 12, 1, 12, 0, 0, 123000, tzinfo=UTC),
        "actor_email": "admin@contoso.test",
        "subject_email": "user@contoso.test",
        "client_ip": "203.0.113.9",
        "token_id": "0b0e6c9e-7d3a-4c36-9a5e-2a4f1b1e8c11",
        "token_name": "Splunk EU",
        "detail": "revoked",
    }
    return SimpleNamespace(**{**defaults, **fields})


def test_the_cef_line_has_the_header_and_extensions():
    line = cef_line(event(), token_hint="pk_live_ab")
    header, extension = split_header(line)
    assert header == [
        "CEF:0",
        "API Token Portal",
        "Portal",
        "1",
        "token.revoked",
        "Token revoked",
        "5",
    ]
    assert parse_extensions(extension) == {
        "rt": "1796126400123",
        "externalId": "5d1c3c8e-2f5b-4a8e-9a61-1c2d3e4f5a6b",
        "suser": "admin@contoso.test",
        "duser": "user@contoso.test",
        "src": "203.0.113.9",
        "cs1Label": "tokenName",
        "cs1": "Splunk EU",
        "cs2Label": "tokenHint",
        "cs2": "pk_live_ab",
        "msg": "revoked",
    }


def test_the_cef_line_escapes_pipes_backslashes_equals_and_newlines():
    line = cef_line(event(token_name="a|b\\c=d", detail="x=1\ny\\z\r|"), token_hint="h=")
    assert "\n" not in line and "\r" not in line
    assert "cs1=a|b\\\\c\\=d" in line and "msg=x\\=1\\ny\\\\z\\r|" in line and "cs2=h\\=" in line
    assert escape_header("a|b\\c") == "a\\|b\\\\c"


TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)


@settings(max_examples=300, deadline=None)
@given(name=TEXT, detail=TEXT, actor=TEXT, hint=TEXT)
def test_cef_extensions_round_trip_any_text(name, detail, actor, hint):
    line = cef_line(event(token_name=name, detail=detail, actor_email=actor), token_hint=hint)
    assert "\n" not in line and "\r" not in line
    header, extension = split_header(line)
    assert len(header) == 7 and unescape_header(header[5]) == "Token revoked"
    parsed = parse_extensions(extension)
    assert parsed["cs1"] == name and parsed["cs2"] == hint
    assert parsed.get("msg", "") == detail and parsed.get("suser", "") == actor


@given(text=TEXT)
def test_cef_header_escaping_round_trips_any_text(text):
    escaped = escape_header(text)
    header, _ = split_header(f"CEF:0|{escaped}|p|1|s|n|3|")
    assert unescape_header(header[1]) == text.replace("\r", " ").replace("\n", " ")


def test_the_feed_never_shows_a_token_secret(siem, issue, tenant, full_admin):
    token, secret = issue(full_admin, name="Leaky")
    audit_record(
        tenant=tenant,
        action=Action.TOKEN_REVOKED,
        token=token,
        via=Via.LEAK_REPORT,
        detail=f"found in a paste: {secret}",
    )
    body = get(siem, limit=1000).content.decode()
    assert secret not in body and siem not in body
    assert "Leaky" in body


# No event skipped under concurrent writers (PostgreSQL: SQLite serialises writes anyway)

postgres_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="concurrent transactions need PostgreSQL"
)


def _in_thread(target, *args):
    def run():
        try:
            target(*args)
        finally:
            close_old_connections()
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_late_commit_is_never_skipped(siem, tenant):
    _, cursor = read_all(siem, 1000)
    a_audited, b_audited, release_a, release_b = (threading.Event() for _ in range(4))
    seen = []

    def writer(name, audited, release):
        with transaction.atomic():
            audit_record(tenant=tenant, action=Action.USER_SIGNED_IN, detail=name)
            audited.set()
            assert release.wait(10)

    a = _in_thread(writer, "a", a_audited, release_a)
    assert a_audited.wait(10)
    b = _in_thread(writer, "b", b_audited, release_b)
    time.sleep(0.3)
    # b waits for a's lock on the tenant's counter: it cannot take a number before a commits.
    assert not b_audited.is_set()
    page = get(siem, cursor=cursor).json()
    assert page["events"] == []
    release_a.set()
    a.join(10)
    assert b_audited.wait(10)
    page = get(siem, cursor=page["next_cursor"]).json()
    seen += [e["detail"] for e in page["events"]]
    release_b.set()
    b.join(10)
    page = get(siem, cursor=page["next_cursor"]).json()
    seen += [e["detail"] for e in page["events"]]
    assert seen == ["a", "b"]


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_and_a_polling_reader_see_every_event_once_in_order(siem, tenant):
    _, cursor = read_all(siem, 1000)
    start = AuditEvent.objects.filter(tenant=tenant).count()
    writers_done = threading.Event()
    per_writer, writers = 25, 4

    def writer(number):
        rng = random.Random(number)
        for index in range(per_writer):
            with transaction.atomic():
                audit_record(
                    tenant=tenant, action=Action.USER_SIGNED_IN, detail=f"{number}-{index}"
                )
                time.sleep(rng.random() / 200)  # commit late, while others wait or read

    threads = [_in_thread(writer, number) for number in range(writers)]

    def wait_for_writers():
        for thread in threads:
            thread.join()
        writers_done.set()

    threading.Thread(target=wait_for_writers, daemon=True).start()
    seen = []
    rng = random.Random(0)
    while True:
        finished = writers_done.is_set()
        page = get(siem, cursor=cursor, limit=rng.randint(1, 7)).json()
        seen += [e["id"] for e in page["events"]]
        cursor = page["next_cursor"]
        if finished and not page["events"]:
            break
    events = AuditEvent.objects.filter(tenant=tenant).order_by("sequence")
    sequences = list(events.values_list("sequence", flat=True))
    assert sequences == list(range(1, len(sequences) + 1))  # gapless
    assert len(sequences) == start + per_writer * writers
    assert seen == [str(e.public_id) for e in events[start:]]
