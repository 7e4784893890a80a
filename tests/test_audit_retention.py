"""Audit retention (CONTRACT §14): a tenant may keep its audit events for a number of days;
the daily sweep deletes older ones in batches, and a SIEM cursor from before the oldest kept
event is told so (410 with the cursor to continue from), never skipped past silently."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit import retention
from audit.models import Action, AuditCounter, AuditEvent
from audit.services import audit_record
from tests.api import api_client
from tokens.models import TokenKind

FEED = "/api/v1/siem/events/"
POLICY = "/settings/security-extensions/api-tokens/policy/"


def events(tenant, count, *, days_ago):
    for number in range(count):
        event = audit_record(tenant=tenant, action=Action.USER_SIGNED_IN, detail=f"e{number}")
        # created_at is not editable through save(): set it as the clock would have.
        AuditEvent.objects.filter(pk=event.pk).update(
            created_at=timezone.now() - timedelta(days=days_ago)
        )


def sweep(*args):
    out = io.StringIO()
    call_command("sweeptokens", *args, stdout=out)
    return out.getvalue()


def kept(tenant):
    return AuditEvent.objects.filter(tenant=tenant).count()


def test_without_retention_every_event_is_kept(tenant):
    events(tenant, 3, days_ago=4000)
    assert "Deleted 0 audit events" in sweep()
    assert kept(tenant) == 3


def test_the_sweep_deletes_only_events_older_than_the_tenants_retention(tenant, other_tenant):
    tenant.audit_retention_days = 30
    tenant.save()
    events(tenant, 4, days_ago=31)
    events(tenant, 2, days_ago=29)
    events(other_tenant, 3, days_ago=400)  # no retention there
    assert "Would delete 4 audit events" in sweep("--dry-run")
    assert kept(tenant) == 6
    assert "Deleted 4 audit events older than their tenant's retention." in sweep()
    assert kept(tenant) == 2 and kept(other_tenant) == 3


def test_a_pass_deletes_in_batches_each_in_its_own_transaction(tenant):
    events(tenant, 7, days_ago=100)
    with CaptureQueriesContext(connection) as queries:
        assert retention.purge(tenant.pk, 30, batch=3) == 7
    deletes = [q["sql"] for q in queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 3  # 3 + 3 + 1, never all at once
    assert kept(tenant) == 0
    last = AuditCounter.objects.get(tenant=tenant)
    assert last.kept_after == last.last  # every event so far may be gone


@pytest.fixture
def agent(issue, full_admin):
    return issue(full_admin, name="Splunk EU", kind=TokenKind.SIEM)[1]


def read(secret, cursor=None, limit=100):
    return api_client(secret).get(FEED, {"limit": limit, **({"cursor": cursor} if cursor else {})})


def test_a_cursor_from_before_the_oldest_kept_event_gets_410_with_where_to_continue(agent, tenant):
    events(tenant, 5, days_ago=100)
    first = read(agent, limit=2).json()["next_cursor"]  # the agent read two events
    events(tenant, 3, days_ago=1)
    retention.purge(tenant.pk, 30)
    refused = read(agent, first)
    assert refused.status_code == 410
    body = refused.json()
    assert "audit retention deleted them" in body["detail"]
    resumed = read(agent, body["oldest_cursor"])
    assert resumed.status_code == 200
    assert [event["detail"] for event in resumed.json()["events"]] == ["e0", "e1", "e2"]
    # A cursor at or past the oldest kept position reads on as before, and a new agent with
    # no cursor starts at the oldest event kept (here the agent token's own, made today).
    assert read(agent, resumed.json()["next_cursor"]).status_code == 200
    fresh = [e["detail"] for e in read(agent).json()["events"]]
    assert fresh == ["No expiry.", "e0", "e1", "e2"]


def test_a_cursor_is_answered_as_before_where_nothing_was_deleted(agent, tenant):
    events(tenant, 3, days_ago=1)
    cursor = read(agent, limit=1).json()["next_cursor"]
    assert read(agent, cursor).status_code == 200


def test_full_admins_set_the_retention_and_see_what_it_deletes_first(signed_in, full_admin, tenant):
    events(tenant, 4, days_ago=400)
    client = signed_in(full_admin)
    asked = client.post(POLICY, {"audit_retention_days": "365"})
    assert asked.status_code == 200
    assert "4 audit events</strong> older than 365 days will be deleted" in asked.content.decode()
    tenant.refresh_from_db()
    assert tenant.audit_retention_days is None  # not saved before it is confirmed
    confirmed = client.post(
        POLICY,
        {"audit_retention_days": "365", "previewed": asked.context["preview"]["fingerprint"]},
    )
    assert confirmed.status_code == 302
    tenant.refresh_from_db()
    assert tenant.audit_retention_days == 365
    change = AuditEvent.objects.filter(tenant=tenant, action=Action.POLICY_CHANGED).get()
    assert "audit events kept 365 days" in change.detail


@pytest.mark.parametrize("value", ["0", "29", "36501", "-5", "a year", "1e3"])
def test_a_bad_retention_is_refused_inline(signed_in, full_admin, tenant, value):
    response = signed_in(full_admin).post(POLICY, {"audit_retention_days": value})
    assert response.status_code == 400
    tenant.refresh_from_db()
    assert tenant.audit_retention_days is None


def test_too_short_a_retention_says_what_is_allowed(signed_in, full_admin):
    response = signed_in(full_admin).post(POLICY, {"audit_retention_days": "7"})
    assert "Keep audit events for at least 30 days, or leave it empty" in response.content.decode()
