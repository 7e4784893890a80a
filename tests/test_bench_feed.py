"""The bench's SIEM feed part (`make bench`, part 7) in miniature: its seed must be a trail
the feed serves like one audit_record wrote, and its verdict must fail a feed that slows."""

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from audit.models import AuditCounter, AuditEvent
from audit.services import audit_record
from bench import feed, report
from tenants.models import Tenant
from tests.api import api_client

pytestmark = pytest.mark.django_db


def test_the_seeded_trail_is_numbered_like_audit_record_numbers_it():
    seeded = feed.seed_feed_tenant(30)
    tenant = Tenant.objects.get(pk=seeded.tenant_id)
    events = AuditEvent.objects.filter(tenant=tenant).order_by("sequence")
    assert list(events.values_list("sequence", flat=True)) == list(range(1, 31))
    assert AuditCounter.objects.get(tenant=tenant).last == 30
    assert audit_record(tenant=tenant, action="user.signed_in").sequence == 31

    response = api_client(seeded.token, host=seeded.host).get(feed.FEED, {"limit": 1000})
    assert response.status_code == 200
    served = response.json()["events"]
    assert [event["id"] for event in served] == [str(e.public_id) for e in events]
    assert len({event["action"] for event in served}) > 3
    assert any(event["token"] for event in served) and any(event["actor"] for event in served)


@pytest.fixture
def connection_kept():
    """The bench's WSGI requests end as a server's do, closing stale connections; here the
    connection holds the test's transaction, so keep it open, as Django's test Client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_the_part_times_full_pages_at_every_position_and_is_judged(connection_kept):
    tenants = [feed.seed_feed_tenant(feed.PAGE), feed.seed_feed_tenant(2 * feed.PAGE)]
    result = feed.feed_scale(tenants, rounds=1)

    assert [(row["events"], row["position"]) for row in result["rows"]] == [
        (1000, "start"),
        (2000, "start"),
        (2000, "middle"),
        (2000, "end"),
    ]
    # Which plan the database picks for a few thousand rows, and when this process starts
    # trusting its token cache, are the bench's to judge at full size, not this test's.
    assert set(result["plans"]) == {"start", "middle", "end"}
    [verdict] = report.verdicts({"db": {"feed": result}})
    assert verdict["target"].startswith("[db] SIEM feed page of 1,000 at 2,000 events <= 2 x")
    assert "SIEM event feed on db" in report.feed_table("db", result)[0]


SQLITE_INDEXED = (
    "SEARCH audit_auditevent USING INDEX sqlite_autoindex_audit_auditevent_2 "
    "(tenant_id=? AND sequence>?)\nSEARCH tokens_token USING INDEX "
    "sqlite_autoindex_tokens_token_1 (id=?) LEFT-JOIN"
)
POSTGRES_INDEXED = (
    "Limit\n  ->  Nested Loop Left Join\n        ->  Index Scan using "
    "audit_tenant_sequence_uniq on audit_auditevent\n"
    "              Index Cond: ((tenant_id = 2) AND (sequence > 999000))"
)


@pytest.mark.parametrize(
    ("plan", "vendor", "walks"),
    [
        (SQLITE_INDEXED, "sqlite", True),
        ("SCAN audit_auditevent\nUSE TEMP B-TREE FOR ORDER BY", "sqlite", False),
        (
            "SEARCH audit_auditevent USING INDEX audit_tenant_time_idx (tenant_id=?)\n"
            "USE TEMP B-TREE FOR ORDER BY",
            "sqlite",
            False,
        ),
        (POSTGRES_INDEXED, "postgresql", True),
        ("Limit\n  ->  Sort\n        ->  Seq Scan on audit_auditevent", "postgresql", False),
    ],
)
def test_a_plan_that_scans_or_sorts_is_not_the_feed_index(plan, vendor, walks):
    assert feed.walks_feed_index(plan, vendor) is walks


def _feed_result(ratio, queries=(2, 2), index_used=True):
    return {
        "page": 1000,
        "sizes": [1000, 1_000_000],
        "index_used": index_used,
        "rows": [
            {"events": 1000, "position": "start", "ratio_to_smallest": 1.0, "queries": queries[0]},
            {
                "events": 1_000_000,
                "position": "end",
                "ratio_to_smallest": ratio,
                "queries": queries[1],
            },
        ],
    }


@pytest.mark.parametrize(
    ("result", "verdict"),
    [
        (_feed_result(1.9), "PASS"),
        (_feed_result(2.1), "FAIL"),
        (_feed_result(1.0, queries=(2, 3)), "FAIL"),
        (_feed_result(1.0, index_used=False), "FAIL"),
    ],
)
def test_the_verdict_fails_a_slower_page_more_queries_or_no_index(result, verdict):
    assert report.verdicts({"db": {"feed": result}})[0]["result"] == verdict


# Part 8: one SIEM agent's delivery rate (bench/siem_agent.py; run end to end by make bench,
# and the same agent against rsyslog in tests/siem/).

AGENT = {
    "events": 50_000,
    "seconds": 5.0,
    "events_per_second": 10_000.0,
    "agent_cpu_seconds": 0.8,
    "server_cpu_seconds": 2.5,
    "lost": 0,
    "duplicates": 0,
    "in_order": True,
}


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({}, "PASS"),
        ({"events_per_second": 4_999.0}, "FAIL"),
        ({"lost": 1}, "FAIL"),
        ({"duplicates": 3}, "FAIL"),
        ({"in_order": False}, "FAIL"),
    ],
)
def test_the_agent_verdict_needs_the_rate_and_every_event_once_in_order(change, status):
    verdicts = report.verdicts({"sqlite": {"agent": {**AGENT, **change}}})
    assert [verdict["result"] for verdict in verdicts] == [status]


def test_the_agent_table_says_what_was_delivered_and_a_skip_is_no_verdict():
    text = "\n".join(report.agent_table("sqlite", {**AGENT, "server_cpu_seconds": None}))
    assert "50,000 events in 5.00 s = 10,000 events/s" in text and "workers' CPU n/a" in text
    assert report.verdicts({"sqlite": {"agent": {"skipped": "no rsyslogd"}}}) == []
