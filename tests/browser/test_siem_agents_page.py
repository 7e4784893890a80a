"""Settings › Security extensions › SIEM agents in a browser: each agent's health at a glance,
and how to run the agent once it is added (screenshots in test-artifacts/screenshots/)."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from audit.models import Action, AuditEvent
from audit.services import audit_record
from integrations.forms import SiemAgentForm
from integrations.models import SiemAgent
from integrations.services import integration_create
from tokens.models import Token

pytestmark = pytest.mark.browser

PAGE = "/settings/security-extensions/siem-agents/"


def add_agent(admin, **fields):
    form = SiemAgentForm(fields, tenant=admin.tenant)
    assert form.is_valid(), form.errors
    agent, _ = integration_create(form=form, by=admin)
    return agent


def test_a_running_and_a_lagging_agent_read_apart_at_a_glance(page_as, full_admin, snap):
    """The screenshot docs/screenshots/siem-agents-health-1280.png is this page."""
    tenant, now = full_admin.tenant, timezone.now()
    add_agent(full_admin, name="QRadar staging", format="cef", host="192.0.2.10", port=514)
    running = add_agent(
        full_admin,
        name="Splunk HQ",
        format="cef",
        host="splunk.contoso.example",
        port=6514,
        tls="on",
    )
    lagging = add_agent(full_admin, name="Sentinel EU", format="json", host="10.20.0.15", port=514)
    for number in range(42):
        audit_record(tenant=tenant, action=Action.USER_SIGNED_IN, detail=f"sign-in {number}")
    last = AuditEvent.objects.filter(tenant=tenant).order_by("-sequence").first().sequence
    AuditEvent.objects.filter(tenant=tenant, sequence__gt=last - 42).update(
        created_at=now - timedelta(minutes=7)
    )
    SiemAgent.objects.filter(pk=running.pk).update(
        last_heartbeat_at=now - timedelta(seconds=12),
        agent_version="0.1.0",
        delivered_sequence=last,
        last_delivered_at=now - timedelta(seconds=14),
    )
    SiemAgent.objects.filter(pk=lagging.pk).update(
        last_heartbeat_at=now - timedelta(seconds=20),
        agent_version="0.1.0",
        delivered_sequence=last - 42,
        last_delivered_at=now - timedelta(minutes=8),
    )
    # Their heartbeats used their tokens: Active, as they would be.
    Token.objects.filter(pk__in=[running.token_id, lagging.token_id]).update(last_used_at=now)
    page = page_as(full_admin)
    page.goto(PAGE)
    rows = page.get_by_role("row")
    splunk = rows.filter(has_text="Splunk HQ")
    expect(splunk.get_by_role("cell").nth(1)).to_have_text("Running")
    expect(splunk).to_contain_text("agent 0.1.0")
    expect(splunk).to_contain_text("Up to date")
    expect(splunk).to_contain_text("TLS")
    sentinel = rows.filter(has_text="Sentinel EU")
    expect(sentinel.get_by_role("cell").nth(1)).to_have_text("Behind")
    expect(sentinel).to_contain_text("42 events · 7 min behind")
    expect(sentinel).to_contain_text("JSON lines → 10.20.0.15:514")
    qradar = rows.filter(has_text="QRadar staging")
    expect(qradar.get_by_role("cell").nth(1)).to_have_text("Never connected")
    snap(page, "siem-agents-health-1280")


def test_after_adding_an_agent_the_dialog_says_how_to_run_it(page_as, full_admin, custom_url, snap):
    page = page_as(full_admin)
    page.goto(PAGE)
    page.get_by_role("button", name="Add SIEM agent").click()
    dialog = page.get_by_role("dialog", name="Add SIEM agent")
    dialog.get_by_label("Name").fill("Splunk HQ")
    dialog.get_by_label("Format").select_option("cef")
    dialog.get_by_label("Destination host").fill("splunk.contoso.example")
    dialog.get_by_label("Port").fill("6514")
    dialog.get_by_label("Send over TLS").check()
    dialog.get_by_role("button", name="Add agent").click()
    reveal = page.get_by_role("dialog", name="Copy your new token")
    expect(reveal).to_contain_text(
        f"portal-siem-agent --url {custom_url.rstrip('/')} --token TOKEN"
    )
    secret = reveal.get_by_label("Token").input_value()
    assert re.fullmatch(r"\S{20,}", secret) and secret not in reveal.inner_text()
    snap(page, "siem-agent-run-command-1280")
    reveal.get_by_role("link", name="Done").click()
    reveal.get_by_role("button", name="Close without copying").click()
    expect(page.get_by_role("row").filter(has_text="Splunk HQ")).to_contain_text("TLS")


def test_the_port_follows_tls_until_someone_types_one(page_as, full_admin):
    """Syslog over TLS on 6514 by default; unticking TLS offers plain syslog's 514, and back."""
    page = page_as(full_admin)
    page.goto(PAGE)
    page.get_by_role("button", name="Add SIEM agent").click()
    dialog = page.get_by_role("dialog", name="Add SIEM agent")
    tls, port = dialog.get_by_label("Send over TLS"), dialog.get_by_label("Port")
    expect(tls).to_be_checked()
    expect(port).to_have_value("6514")
    expect(port).to_have_accessible_description(
        "Usually 6514 for syslog over TLS, 514 without TLS."
    )
    tls.uncheck()
    expect(port).to_have_value("514")
    tls.check()
    expect(port).to_have_value("6514")
    port.fill("10514")
    tls.uncheck()
    expect(port).to_have_value("10514")
