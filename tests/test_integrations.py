import re
import uuid

import pytest

from audit.models import AuditEvent
from identity.services import user_reactivate
from integrations.models import LogCollector, SiemAgent
from tenants.models import Role
from tenants.services import user_deprovision, user_set_role
from tests.api import api_client
from tests.factories import UserFactory
from tests.pages import revealed_value
from tokens import crypto
from tokens.models import Token, TokenKind

SIEM = "/settings/security-extensions/siem-agents/"
COLLECTORS = "/settings/log-collectors/"
SIEM_BEAT = "/api/v1/siem/heartbeat/"
COLLECTOR_BEAT = "/api/v1/log-collectors/heartbeat/"
# A heartbeat's body is JSON; the test client's default POST body is multipart.
JSON = "application/json"

GOOD = {
    SIEM: {"name": "Splunk EU", "format": "cef", "host": "siem.example.com", "port": "514"},
    COLLECTORS: {
        "name": "HQ firewall",
        "source_type": "firewall",
        "receiver": "syslog",
        "port": "6514",
    },
}


def add(client, page, **changes):
    return client.post(page + "new/", {**GOOD[page], **changes})


@pytest.mark.parametrize(
    ("page", "kind"), [(SIEM, TokenKind.SIEM), (COLLECTORS, TokenKind.LOG_COLLECTOR)]
)
def test_adding_reveals_a_token_of_its_own_kind_once(signed_in, full_admin, page, kind):
    client = signed_in(full_admin)
    response = add(client, page)
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    secret = revealed_value(response)
    token = Token.objects.get(digest=crypto.digest(secret))
    assert token.kind == kind and token.owner == full_admin
    assert secret not in client.get(page).content.decode()


def test_each_token_works_only_on_its_own_heartbeat(signed_in, full_admin, issue):
    client = signed_in(full_admin)
    siem = revealed_value(add(client, SIEM))
    collector = revealed_value(add(client, COLLECTORS))
    _, api = issue(full_admin)
    expected = {
        (siem, SIEM_BEAT): 200,
        (siem, COLLECTOR_BEAT): 403,
        (siem, "/api/v1/me/"): 403,
        (collector, COLLECTOR_BEAT): 200,
        (collector, SIEM_BEAT): 403,
        (collector, "/api/v1/tokens/"): 403,
        (api, SIEM_BEAT): 403,
        (api, COLLECTOR_BEAT): 403,
        (api, "/api/v1/me/"): 200,
    }
    for (secret, path), status in expected.items():
        client_api = api_client(secret)
        response = (
            client_api.post(path, content_type=JSON)
            if "heartbeat" in path
            else client_api.get(path)
        )
        assert response.status_code == status, (path, response.content)


def test_a_heartbeat_makes_the_token_active(signed_in, full_admin):
    client = signed_in(full_admin)
    secret = revealed_value(add(client, SIEM))
    body = api_client(secret).post(SIEM_BEAT, content_type=JSON).json()
    assert body["status"] == "ok" and body["name"] == "Splunk EU"
    assert SiemAgent.objects.get().token.status == "active"
    assert "badge-active" in client.get(SIEM).content.decode()


def test_agent_and_collector_tokens_stay_off_the_api_tokens_page_and_api(
    signed_in, full_admin, issue
):
    client = signed_in(full_admin)
    add(client, SIEM)
    add(client, COLLECTORS)
    page = client.get("/settings/security-extensions/api-tokens/")
    assert page.context["page"].paginator.count == 0
    for status in ("all", "active", "inactive", "generated", "expired"):
        assert (
            not client.get("/settings/security-extensions/api-tokens/", {"status": status})
            .context["page"]
            .object_list
        )
    _, api = issue(full_admin)
    names = [t["name"] for t in api_client(api).get("/api/v1/tokens/").json()["results"]]
    assert names == ["Test token"]


@pytest.mark.parametrize("page", [SIEM, COLLECTORS])
def test_regenerating_stops_the_old_token_at_once(signed_in, full_admin, page):
    client = signed_in(full_admin)
    old = revealed_value(add(client, page))
    beat = SIEM_BEAT if page == SIEM else COLLECTOR_BEAT
    assert api_client(old).post(beat, content_type=JSON).status_code == 200
    model = SiemAgent if page == SIEM else LogCollector
    item = model.objects.get()
    new = revealed_value(client.post(f"{page}{item.public_id}/regenerate/"))
    assert api_client(old).post(beat, content_type=JSON).status_code == 401
    assert api_client(new).post(beat, content_type=JSON).status_code == 200


@pytest.mark.parametrize("page", [SIEM, COLLECTORS])
def test_deleting_revokes_the_token_and_audits_it(signed_in, full_admin, page):
    client = signed_in(full_admin)
    secret = revealed_value(add(client, page))
    model = SiemAgent if page == SIEM else LogCollector
    item = model.objects.get()
    assert "cannot be undone" in client.get(f"{page}{item.public_id}/delete/").content.decode()
    response = client.post(f"{page}{item.public_id}/delete/")
    assert response.status_code == 302 and not model.objects.exists()
    beat = SIEM_BEAT if page == SIEM else COLLECTOR_BEAT
    assert api_client(secret).post(beat, content_type=JSON).status_code == 401
    assert AuditEvent.objects.filter(action="token.revoked", actor=full_admin).exists()


@pytest.mark.parametrize("persona", ["operator", "reader"])
@pytest.mark.parametrize("page", [SIEM, COLLECTORS])
def test_only_full_admins_see_or_change_them(request, signed_in, full_admin, persona, page):
    add(signed_in(full_admin), page)
    item = (SiemAgent if page == SIEM else LogCollector).objects.get()
    client = signed_in(request.getfixturevalue(persona))
    item_url = f"{page}{item.public_id}/"
    for path in (page, page + "new/", item_url + "regenerate/", item_url + "delete/"):
        assert client.get(path).status_code == 404
        assert client.post(path).status_code == 404
    assert (SiemAgent if page == SIEM else LogCollector).objects.count() == 1


def test_another_tenants_agents_are_404(signed_in, full_admin, other_tenant_admin):
    add(signed_in(other_tenant_admin), SIEM)
    item = SiemAgent.objects.get()
    client = signed_in(full_admin)
    assert client.post(f"{SIEM}{item.public_id}/delete/").status_code == 404
    assert "Splunk EU" not in client.get(SIEM).content.decode()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "Enter a name, e.g. the site or product it serves."),
        ({"format": ""}, "Choose the format your SIEM reads: CEF or JSON lines."),
        ({"name": "x" * 101}, "at most 100 characters"),
        ({"name": "bad\x07"}, "control or invisible characters"),
        ({"format": "syslog"}, "Select a valid choice."),  # the retired "Generic syslog"
        ({"host": ""}, "Enter the host name or IP address your SIEM receives events on."),
        ({"host": "not a host!"}, "Enter a host name"),
        ({"host": "-bad.example.com"}, "Enter a host name"),
        ({"host": "a" * 300}, "at most 253 characters"),
        ({"port": "0"}, "Use a port from 1 to 65535."),
        ({"port": "65536"}, "Use a port from 1 to 65535."),
        ({"port": "-1"}, "Use a port from 1 to 65535."),
        ({"port": "http"}, "Enter a whole number."),
        ({"port": "9" * 30}, "Use a port from 1 to 65535."),
    ],
)
def test_bad_siem_agent_input_is_refused_inline(signed_in, full_admin, changes, message):
    response = add(signed_in(full_admin), SIEM, **changes)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not SiemAgent.objects.exists() and not Token.objects.exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"source_type": "mainframe"}, "Select a valid choice."),
        ({"receiver": "http"}, "Select a valid choice."),
        ({"port": ""}, "Enter a port from 1 to 65535."),
        ({"source_type": ""}, "Choose the kind of device whose logs it collects."),
        ({"receiver": ""}, "Choose how the devices send their logs: FTP or syslog."),
        ({"port": "70000"}, "Use a port from 1 to 65535."),
    ],
)
def test_bad_log_collector_input_is_refused_inline(signed_in, full_admin, changes, message):
    response = add(signed_in(full_admin), COLLECTORS, **changes)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not LogCollector.objects.exists() and not Token.objects.exists()


@pytest.mark.parametrize("host", ["10.0.0.5", "2001:db8::1", "SIEM.Example.com."])
def test_ip_addresses_and_host_names_are_accepted(signed_in, full_admin, host):
    assert add(signed_in(full_admin), SIEM, host=host).status_code == 200
    assert SiemAgent.objects.get().host == host.lower().rstrip(".")


def test_names_are_unique_per_tenant(signed_in, full_admin, other_tenant_admin):
    add(signed_in(full_admin), SIEM)
    response = add(signed_in(full_admin), SIEM, name="splunk eu")
    assert response.status_code == 400 and "already has this name" in response.content.decode()
    assert add(signed_in(other_tenant_admin), SIEM).status_code == 200


def test_heartbeats_are_posts_only(signed_in, full_admin):
    secret = revealed_value(add(signed_in(full_admin), SIEM))
    response = api_client(secret).get(SIEM_BEAT)
    assert response.status_code == 405 and response["Allow"] == "POST"


BEAT = {SIEM: SIEM_BEAT, COLLECTORS: COLLECTOR_BEAT}
MODEL = {SIEM: SiemAgent, COLLECTORS: LogCollector}


@pytest.mark.parametrize("page", [SIEM, COLLECTORS])
def test_heartbeats_outlive_the_admin_who_created_them(signed_in, full_admin, issue, page, caching):
    """Agents and collectors are the tenant's: the admin who set one up may be demoted or
    leave, and it keeps working, cached or not. That admin's own API token does not."""
    secret = revealed_value(add(signed_in(full_admin), page))
    _, api_secret = issue(full_admin)
    agent = api_client(secret)
    assert (
        agent.post(BEAT[page], content_type=JSON).status_code == 200
    )  # now in this process's cache
    user_set_role(user=full_admin, role=Role.SECURITY_READER)
    assert agent.post(BEAT[page], content_type=JSON).status_code == 200
    user_deprovision(user=full_admin)
    response = agent.post(BEAT[page], content_type=JSON)
    assert response.status_code == 200 and response.json()["status"] == "ok"
    refused = api_client(api_secret).get("/api/v1/me/")
    assert refused.status_code == 403 and refused.json() == {"detail": "permission denied"}
    assert not AuditEvent.objects.filter(
        action="token.denied_deprovisioned", token__kind=MODEL[page].token_kind
    ).exists()


@pytest.mark.parametrize("page", [SIEM, COLLECTORS])
def test_an_integration_token_has_its_kinds_privileges_and_never_its_creators(
    signed_in, full_admin, issue, page
):
    secret = revealed_value(add(signed_in(full_admin), page))
    victim, _ = issue(full_admin, name="victim")
    client = api_client(secret)
    other_beat = COLLECTOR_BEAT if page == SIEM else SIEM_BEAT
    for response in (
        client.get("/api/v1/me/"),
        client.get("/api/v1/audit/"),
        client.get("/api/v1/tokens/"),
        client.delete(f"/api/v1/tokens/{victim.pk}/"),
        client.post(other_beat, content_type=JSON),
    ):
        assert response.status_code == 403
        assert "not accepted here" in response.json()["detail"]
    assert not Token.objects.get(pk=victim.pk).is_revoked


@pytest.mark.parametrize("page", [SIEM, COLLECTORS])
def test_another_admin_regenerates_after_the_creator_left(signed_in, full_admin, tenant, page):
    old = revealed_value(add(signed_in(full_admin), page))
    user_deprovision(user=full_admin)
    successor = UserFactory(tenant=tenant, role=Role.FULL_ADMIN, email="next@contoso.test")
    client = signed_in(successor)
    listing = client.get(page).content.decode().replace("<wbr>", "")  # addresses may wrap at @
    assert "admin@contoso.test" in listing and "Deprovisioned" in listing  # created by
    item = MODEL[page].objects.get()
    response = client.post(f"{page}{item.public_id}/regenerate/")
    assert response.status_code == 200
    new = revealed_value(response)
    assert api_client(old).post(BEAT[page], content_type=JSON).status_code == 401
    assert api_client(new).post(BEAT[page], content_type=JSON).status_code == 200
    event = AuditEvent.objects.get(action="token.rotated")
    assert (event.actor, event.actor_email, event.token) == (
        successor,
        "next@contoso.test",
        item.token,
    )


def test_reactivating_the_creator_leaves_the_tenants_tokens_alone(signed_in, full_admin):
    secret = revealed_value(add(signed_in(full_admin), SIEM))
    user_deprovision(user=full_admin)
    user_reactivate(user=full_admin, via="command")
    assert api_client(secret).post(SIEM_BEAT, content_type=JSON).status_code == 200


def test_agent_and_collector_ids_are_opaque_and_old_integer_urls_are_404(
    signed_in, full_admin, other_tenant_admin
):
    """Two tenants adding in turn: the ids tenant A sees must not count tenant B's."""
    ours, theirs = signed_in(full_admin), signed_in(other_tenant_admin)
    for n in range(3):
        for page in (SIEM, COLLECTORS):
            add(ours, page, name=f"ours {n}")
            add(theirs, page, name=f"theirs {n}")
    for page in (SIEM, COLLECTORS):
        html = ours.get(page).content.decode()
        ids = set(re.findall(rf'"{page}([^/"]+)/(?:regenerate|delete)/"', html))
        assert len(ids) == 3
        assert all(uuid.UUID(i).version == 4 and str(uuid.UUID(i)) == i for i in ids)
        for item in MODEL[page].objects.all():
            assert str(item.pk) not in ids
            for action in ("regenerate", "delete"):
                assert ours.get(f"{page}{item.pk}/{action}/").status_code == 404
                assert ours.post(f"{page}{item.pk}/{action}/").status_code == 404
        assert MODEL[page].objects.count() == 6
        assert not Token.objects.filter(rotated_at__isnull=False).exists()


def test_siem_is_spelt_in_capitals_in_names_and_empty_state(signed_in, full_admin):
    client = signed_in(full_admin)
    html = client.get(SIEM).content.decode()
    assert "No SIEM agents yet" in html
    assert "siem agent" not in html and "Siem agent" not in html
    assert "No log collectors yet" in client.get(COLLECTORS).content.decode()
    add(client, SIEM)
    assert Token.objects.get(kind=TokenKind.SIEM).name == "SIEM agent: Splunk EU"
    client.post(f"{SIEM}{SiemAgent.objects.get().public_id}/delete/")
    assert AuditEvent.objects.filter(detail="SIEM agent “Splunk EU” deleted.").exists()
    assert SiemAgent._meta.verbose_name == "SIEM agent"


@pytest.mark.parametrize(
    ("page", "field", "placeholder"),
    [
        (SIEM, "format", "Choose a format"),
        (COLLECTORS, "source_type", "Choose a data source"),
        (COLLECTORS, "receiver", "Choose a receiver"),
    ],
)
def test_selects_start_with_a_placeholder_not_dashes(
    signed_in, full_admin, page, field, placeholder
):
    html = signed_in(full_admin).get(page + "new/").content.decode()
    select = re.search(rf'<select name="{field}".*?</select>', html, re.S).group(0)
    assert "---------" not in select
    assert re.search(rf'<option value=""[^>]*>{placeholder}</option>', select)


def test_an_empty_select_is_marked_like_any_field_in_error(signed_in, full_admin):
    html = add(signed_in(full_admin), SIEM, format="").content.decode()
    select = re.search(r"<select[^>]*>", html).group(0)
    assert 'aria-invalid="true"' in select and 'aria-describedby="id_format_error"' in select
    assert '<div class="field has-error">' in html and 'id="id_format_error"' in html
    assert "This field is required." not in html


def test_the_error_border_covers_selects_too():
    from pathlib import Path

    css = (Path(__file__).parent.parent / "static/portal/portal.css").read_text()
    assert ".field.has-error :is(input, select, textarea) { border-color: var(--danger); }" in css


def test_a_new_siem_agent_sends_over_tls_to_syslogs_tls_port(signed_in, full_admin):
    """UX round 3, finding 16: the add dialog starts with TLS ticked and port 6514, and says
    that 514 is the port without TLS (the page's script swaps the two as TLS is toggled)."""
    html = signed_in(full_admin).get(SIEM + "new/").content.decode()
    tls = re.search(r'<input type="checkbox" name="tls"[^>]*>', html).group(0)
    port = re.search(r'<input type="number" name="port"[^>]*>', html).group(0)
    assert " checked" in tls
    assert 'value="6514"' in port
    assert 'data-tls-port="6514"' in port and 'data-plain-port="514"' in port
    assert "Usually 6514 for syslog over TLS, 514 without TLS." in html
    # The log collector's port has no such default: it depends on the receiver.
    collector = signed_in(full_admin).get(COLLECTORS + "new/").content.decode()
    assert 'value="' not in re.search(r'<input type="number" name="port"[^>]*>', collector)[0]


def test_unticking_tls_is_kept(signed_in, full_admin):
    assert add(signed_in(full_admin), SIEM).status_code == 200  # no "tls" in the POST
    agent = SiemAgent.objects.get()
    assert (agent.tls, agent.port) == (False, 514)


@pytest.mark.parametrize(("page", "button"), [(SIEM, "Add agent"), (COLLECTORS, "Add collector")])
def test_the_add_dialogs_button_says_it_adds(signed_in, full_admin, page, button):
    """UX round 3, finding 6: the button creates the agent and shows its token; "Next" hid
    that it adds anything."""
    html = signed_in(full_admin).get(page + "new/").content.decode()
    dialog = re.search(r'<dialog id="add-dialog".*?</dialog>', html, re.S).group(0)
    assert re.findall(r'<button type="submit"[^>]*>([^<]*)</button>', dialog) == [button]
