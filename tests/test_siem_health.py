"""SIEM agent health: what the agent reports on POST /api/v1/siem/heartbeat/, and the status,
heartbeat, delivery and lag the SIEM agents page shows from it."""

import json
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import Action, AuditCounter, AuditEvent
from audit.services import audit_record
from integrations.api import encode_cursor
from integrations.models import SiemAgent, SiemHealth
from portal.templatetags.portal_tags import duration
from tests.api import api_client
from tests.pages import revealed_value

PAGE = "/settings/security-extensions/siem-agents/"
BEAT = "/api/v1/siem/heartbeat/"
AGENT = {"name": "Splunk EU", "format": "cef", "host": "siem.example.com", "port": "514"}


def add(client, **changes):
    response = client.post(PAGE + "new/", {**AGENT, **changes})
    assert response.status_code == 200
    return SiemAgent.objects.get(name=changes.get("name", AGENT["name"])), response


@pytest.fixture
def agent(signed_in, full_admin):
    """(the agent, its token's secret); adding it recorded the tenant's event 1."""
    agent, response = add(signed_in(full_admin))
    return agent, revealed_value(response)


def beat(secret, body=None):
    """A heartbeat: no body, a JSON value, or raw bytes as sent."""
    client = api_client(secret)
    if body is None:
        return client.generic("POST", BEAT)
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.generic("POST", BEAT, raw, content_type="application/json")


def make_events(tenant, count):
    for number in range(count):
        audit_record(tenant=tenant, action=Action.USER_SIGNED_IN, detail=f"event {number}")


def age_events(tenant, seconds, *, from_sequence=1):
    AuditEvent.objects.filter(tenant=tenant, sequence__gte=from_sequence).update(
        created_at=timezone.now() - timedelta(seconds=seconds)
    )


def healthy(agent):
    return SiemAgent.objects.with_health().get(pk=agent.pk)


# The heartbeat's body


def test_an_empty_body_is_a_heartbeat_that_answers_destination_and_lag(agent):
    agent, secret = agent
    response = beat(secret)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["name"] == "Splunk EU"
    assert body["destination"] == {
        "host": "siem.example.com",
        "port": 514,
        "format": "cef",
        "tls": False,
    }
    assert body["lag"]["events"] == 1 and body["lag"]["seconds"] < 5  # the agent's creation
    agent.refresh_from_db()
    assert agent.last_heartbeat_at is not None
    assert (agent.agent_version, agent.delivered_sequence, agent.last_delivered_at) == ("", 0, None)


def test_the_answer_carries_the_format_and_tls_set_on_the_page(signed_in, full_admin):
    _, response = add(signed_in(full_admin), format="json", tls="on", port="6514")
    body = beat(revealed_value(response)).json()
    assert body["destination"] == {
        "host": "siem.example.com",
        "port": 6514,
        "format": "json",
        "tls": True,
    }


ahead = encode_cursor(2)  # the tenant has one event when the agent is added


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"not json", "The body is not valid JSON."),
        (b"\xff\xfe", "The body is not valid JSON."),
        (b"[" * 100_000, "The JSON body is nested too deeply."),
        ([{"version": "0.1.0"}], "The body must be a JSON object."),
        ("0.1.0", "The body must be a JSON object."),
        ({"version": ""}, "version: "),
        ({"version": "x" * 41}, "version: "),
        ({"version": "0.1.0 beta"}, "version: "),
        ({"version": "0.1.0\n"}, "version: "),
        ({"version": "é"}, "version: "),
        ({"version": 1}, "version: "),
        ({"cursor": "nope"}, "cursor: not a cursor given by this feed."),
        ({"cursor": 1}, "cursor: not a cursor given by this feed."),
        ({"cursor": ""}, "cursor: not a cursor given by this feed."),
        ({"cursor": encode_cursor(-1)}, "cursor: not a cursor given by this feed."),
        ({"cursor": ahead}, "cursor: ahead of the feed."),
        ({"version": "0.1.0", "cursor": ahead}, "cursor: ahead of the feed."),
    ],
)
def test_a_bad_heartbeat_is_400_with_its_reason_and_stores_nothing(agent, body, detail):
    agent, secret = agent
    response = beat(secret, body)
    assert response.status_code == 400
    assert response.json()["detail"].startswith(detail)
    agent.refresh_from_db()
    assert (agent.last_heartbeat_at, agent.agent_version, agent.delivered_sequence) == (None, "", 0)


def test_the_version_message_says_what_a_version_may_hold(agent):
    _, secret = agent
    assert beat(secret, {"version": "v 1"}).json() == {
        "detail": "version: 1 to 40 letters, digits, dots, hyphens, plus signs or underscores."
    }


def test_unknown_keys_are_ignored_and_null_leaves_a_value_as_it_is(agent):
    agent, secret = agent
    assert beat(secret, {"version": "0.1.0", "cursor": encode_cursor(1)}).status_code == 200
    response = beat(secret, {"version": None, "cursor": None, "hostname": "siem-01"})
    assert response.status_code == 200
    agent.refresh_from_db()
    assert (agent.agent_version, agent.delivered_sequence) == ("0.1.0", 1)


# What a heartbeat stores


def test_version_and_cursor_are_stored_and_delivery_time_moves_only_forward(agent, tenant):
    agent, secret = agent
    make_events(tenant, 4)  # events 2 to 5
    version = "1.2.3-rc.1+build_7"
    assert beat(secret, {"version": version, "cursor": encode_cursor(3)}).status_code == 200
    agent.refresh_from_db()
    assert (agent.agent_version, agent.delivered_sequence) == (version, 3)
    first_delivery = agent.last_delivered_at
    assert first_delivery is not None

    beat(secret, {"cursor": encode_cursor(3)})  # nothing new delivered
    agent.refresh_from_db()
    assert agent.last_delivered_at == first_delivery

    # An agent restored from an older state file: taken as is, the lag grows.
    response = beat(secret, {"cursor": encode_cursor(1)})
    assert response.status_code == 200 and response.json()["lag"]["events"] == 4
    agent.refresh_from_db()
    assert (agent.delivered_sequence, agent.last_delivered_at) == (1, first_delivery)

    beat(secret, {"cursor": encode_cursor(5)})
    agent.refresh_from_db()
    assert agent.delivered_sequence == 5 and agent.last_delivered_at > first_delivery
    assert agent.agent_version == version  # not sent this time: kept


def test_a_cursor_the_feed_gave_is_accepted(agent, tenant):
    _, secret = agent
    make_events(tenant, 3)
    next_cursor = api_client(secret).get("/api/v1/siem/events/").json()["next_cursor"]
    response = beat(secret, {"cursor": next_cursor})
    assert response.status_code == 200 and response.json()["lag"] == {"events": 0, "seconds": 0}


def test_a_heartbeat_is_one_update_of_the_agent_row(agent):
    """No read-modify-write: "moved forward" is decided by the UPDATE, on the row as it is."""
    agent, secret = agent
    with CaptureQueriesContext(connection) as queries:
        assert beat(secret, {"version": "0.1.0", "cursor": encode_cursor(1)}).status_code == 200
    table = SiemAgent._meta.db_table
    writes = [q["sql"] for q in queries if q["sql"].startswith("UPDATE") and table in q["sql"]]
    assert len(writes) == 1
    assert not any("FOR UPDATE" in q["sql"] for q in queries)


def test_an_agent_deleted_during_its_heartbeat_gets_404(agent, monkeypatch):
    agent, secret = agent

    def deleted_meanwhile(self, **report):
        SiemAgent.objects.filter(pk=self.pk).delete()

    monkeypatch.setattr(SiemAgent, "record_heartbeat", deleted_meanwhile)
    response = beat(secret)
    assert response.status_code == 404 and response.json() == {"detail": "No such agent."}


def test_the_log_collector_heartbeat_keeps_its_answer(signed_in, full_admin):
    response = signed_in(full_admin).post(
        "/settings/log-collectors/new/",
        {"name": "HQ firewall", "source_type": "firewall", "receiver": "ftp", "port": "21"},
    )
    answer = api_client(revealed_value(response)).post("/api/v1/log-collectors/heartbeat/")
    assert answer.status_code == 200
    assert set(answer.json()) == {"status", "name", "received_at"}


# Lag and status


def test_lag_counts_the_undelivered_events_and_the_age_of_the_oldest(agent, tenant):
    agent, secret = agent
    make_events(tenant, 11)  # events 2 to 12
    age_events(tenant, 600)
    age_events(tenant, 180, from_sequence=4)
    response = beat(secret, {"cursor": encode_cursor(3)})
    lag = response.json()["lag"]
    assert lag["events"] == 9 and 180 <= lag["seconds"] <= 185
    assert beat(secret, {"cursor": encode_cursor(12)}).json()["lag"] == {"events": 0, "seconds": 0}


def test_without_any_event_the_lag_is_zero(agent, tenant):
    agent, _ = agent
    assert healthy(agent).lag_events == 1
    AuditEvent.objects.filter(tenant=tenant).delete()
    AuditCounter.objects.filter(tenant=tenant).delete()
    agent = healthy(agent)
    assert (agent.lag_events, agent.lag_seconds) == (0, 0)


def test_another_tenants_events_and_agents_are_not_counted_or_touched(
    agent, tenant, other_tenant, other_tenant_admin, signed_in
):
    agent, secret = agent
    theirs, _ = add(signed_in(other_tenant_admin), name="Sentinel")
    make_events(other_tenant, 40)
    assert beat(secret, {"cursor": encode_cursor(30)}).json()["detail"] == (
        "cursor: ahead of the feed."
    )
    response = beat(secret, {"cursor": encode_cursor(1)})
    assert response.json()["lag"] == {"events": 0, "seconds": 0}
    theirs.refresh_from_db()
    assert (theirs.last_heartbeat_at, theirs.delivered_sequence) == (None, 0)
    assert healthy(theirs).lag_events == 41


def set_state(agent, *, heartbeat_ago=None, delivered=None, oldest_undelivered_ago=None):
    """The agent's row and its tenant's events as a heartbeat at that time would leave them."""
    now = timezone.now()
    SiemAgent.objects.filter(pk=agent.pk).update(
        last_heartbeat_at=None if heartbeat_ago is None else now - timedelta(seconds=heartbeat_ago),
        delivered_sequence=delivered if delivered is not None else 0,
    )
    if oldest_undelivered_ago is not None:
        age_events(agent.tenant, oldest_undelivered_ago)
    return healthy(agent)


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ({}, SiemHealth.NEVER_CONNECTED),
        ({"oldest_undelivered_ago": 3600}, SiemHealth.NEVER_CONNECTED),
        ({"heartbeat_ago": 121, "delivered": 1}, SiemHealth.DISCONNECTED),
        ({"heartbeat_ago": 600, "oldest_undelivered_ago": 3600}, SiemHealth.DISCONNECTED),
        ({"heartbeat_ago": 119, "delivered": 1}, SiemHealth.RUNNING),
        ({"heartbeat_ago": 5, "oldest_undelivered_ago": 59}, SiemHealth.RUNNING),
        ({"heartbeat_ago": 5, "oldest_undelivered_ago": 62}, SiemHealth.BEHIND),
        # Old events already delivered are no lag at all.
        ({"heartbeat_ago": 5, "delivered": 1, "oldest_undelivered_ago": 3600}, SiemHealth.RUNNING),
    ],
)
def test_each_status_follows_its_rule(agent, state, status):
    assert set_state(agent[0], **state).health == status


def test_the_page_shows_status_heartbeat_delivery_and_lag(signed_in, full_admin, tenant):
    client = signed_in(full_admin)
    running, _ = add(client, name="Running agent", tls="on")
    behind, _ = add(client, name="Behind agent")
    add(client, name="Disconnected agent")
    add(client, name="Silent agent")
    make_events(tenant, 20)  # 4 agents added: events 1 to 24
    now = timezone.now()
    SiemAgent.objects.filter(name="Running agent").update(
        last_heartbeat_at=now, agent_version="0.1.0", delivered_sequence=24, last_delivered_at=now
    )
    SiemAgent.objects.filter(name="Behind agent").update(
        last_heartbeat_at=now, delivered_sequence=12, last_delivered_at=now
    )
    SiemAgent.objects.filter(name="Disconnected agent").update(
        last_heartbeat_at=now - timedelta(minutes=10), delivered_sequence=24
    )
    age_events(tenant, 200, from_sequence=13)
    html = client.get(PAGE).content.decode()
    by_name = {
        name: next(row for row in html.split("<tr>") if f">{name} <code" in row)
        for name in ("Running agent", "Behind agent", "Disconnected agent", "Silent agent")
    }
    assert 'class="badge badge-running">Running<' in by_name["Running agent"]
    assert "agent 0.1.0" in by_name["Running agent"] and "Up to date" in by_name["Running agent"]
    assert "CEF → <code>siem.<wbr>example.<wbr>com<wbr>:514</code>" in by_name["Running agent"]
    assert ">TLS<" in by_name["Running agent"] and ">TLS<" not in by_name["Behind agent"]
    assert 'class="badge badge-behind">Behind<' in by_name["Behind agent"]
    assert "12 events · 3 min behind" in re.sub(r"<[^>]+>", "", by_name["Behind agent"])
    assert 'class="badge badge-disconnected">Disconnected<' in by_name["Disconnected agent"]
    assert "10\xa0minutes ago" in by_name["Disconnected agent"]
    silent = by_name["Silent agent"]
    assert 'class="badge badge-never_connected">Never connected<' in silent
    assert silent.count('<span class="muted">Never</span>') == 1  # no heartbeat
    assert "No event delivered" in silent
    assert "24 events" in silent


def test_the_page_costs_the_same_queries_for_one_agent_or_five(signed_in, full_admin, tenant):
    client = signed_in(full_admin)

    def queries_for_the_page():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(PAGE).status_code == 200
        return len(queries)

    add(client, name="agent 0")
    one = queries_for_the_page()
    for number in range(1, 5):
        add(client, name=f"agent {number}")
    SiemAgent.objects.update(last_heartbeat_at=timezone.now(), delivered_sequence=2)
    assert queries_for_the_page() == one


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (59, "59 s"), (60, "1 min"), (3599, "59 min"), (7200, "2 h"), (86400, "1 day")],
)
def test_lag_durations_read_in_one_unit(seconds, text):
    assert duration(seconds) == text
    assert duration(3 * 86400) == "3 days"


# Adding an agent


def test_after_adding_the_page_shows_how_to_run_the_agent(signed_in, full_admin, tenant):
    response = signed_in(full_admin).post(PAGE + "new/", AGENT)
    html = response.content.decode()
    secret = revealed_value(response)
    assert f"portal-siem-agent --url http://{tenant.host} --token TOKEN" in html
    assert "Run it on a machine that reaches your SIEM:" in html
    assert html.count(secret) == 1  # in the token field only, not in the command


def test_the_add_dialog_offers_tls_and_says_where_the_token_works(signed_in, full_admin):
    html = signed_in(full_admin).get(PAGE + "new/").content.decode()
    assert 'type="checkbox" name="tls"' in html and "Send over TLS" in html
    assert "The receiver must present a certificate the agent&#x27;s machine trusts." in html
    assert "works only on the SIEM heartbeat and the SIEM event feed" in html
    assert '<option value="json">JSON lines</option>' in html and "Generic syslog" not in html


# Migrating


BEFORE = [("integrations", "0003_siem_verbose_name")]
AFTER = [("integrations", "0004_siem_agent_health")]


@pytest.mark.django_db(transaction=True)
def test_migrating_turns_generic_syslog_agents_into_json_lines_and_back():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    tenant = old.get_model("tenants", "Tenant").objects.create(slug="old", name="Old")
    admin = old.get_model("tenants", "User").objects.create(
        email="admin@old.test", tenant=tenant, role="full_admin"
    )
    for number, old_format in enumerate(["syslog", "cef"]):
        token = old.get_model("tokens", "Token").objects.create(
            tenant=tenant,
            owner=admin,
            kind="siem",
            name=f"t{number}",
            digest=f"{number:064}",
            hint="x",
        )
        old.get_model("integrations", "SiemAgent").objects.create(
            tenant=tenant,
            name=old_format,
            token=token,
            port=514,
            created_by=admin,
            format=old_format,
            host="siem.example.com",
        )

    def formats(state):
        agents = executor.loader.project_state(state).apps.get_model("integrations", "SiemAgent")
        return dict(agents.objects.values_list("name", "format"))

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    assert formats(AFTER) == {"syslog": "json", "cef": "cef"}
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    assert formats(BEFORE) == {"syslog": "syslog", "cef": "cef"}
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_the_destination_wraps_after_dots_and_before_the_port_only():
    from portal.templatetags.portal_tags import host_breaks

    assert host_breaks("splunk.contoso.example") == "splunk.<wbr>contoso.<wbr>example"
    assert host_breaks("<b>") == "&lt;b&gt;"
