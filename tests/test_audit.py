import csv
import io
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import audit_record
from tenants.models import Role
from tests.api import api_client
from tests.factories import PASSWORD, TokenFactory
from tokens import crypto
from tokens.models import TokenKind
from tokens.services import token_revoke

LOG = "/settings/audit-log/"


def actions(tenant):
    return list(AuditEvent.objects.filter(tenant=tenant).values_list("action", flat=True))


def test_generating_and_revoking_on_the_page_are_audited(signed_in, operator, tenant):
    client = signed_in(operator)
    client.post(
        "/settings/security-extensions/api-tokens/new/",
        {"name": "CI", "form_id": uuid.uuid4().hex},
        REMOTE_ADDR="192.0.2.1",
    )
    token = operator.tokens.get()
    client.post(f"/settings/security-extensions/api-tokens/{token.pk}/revoke/")
    revoked, generated = AuditEvent.objects.filter(tenant=tenant)
    assert (generated.action, generated.actor, generated.token, generated.via) == (
        "token.generated",
        operator,
        token,
        "page",
    )
    assert generated.client_ip == "192.0.2.1" and generated.token_name == "CI"
    assert (revoked.action, revoked.actor, revoked.via) == ("token.revoked", operator, "page")


def test_revoking_through_the_api_is_audited_with_who(issue, full_admin, reader, tenant):
    victim = TokenFactory(owner=reader)
    _, secret = issue(full_admin)
    api_client(secret).delete(f"/api/v1/tokens/{victim.pk}/")
    event = AuditEvent.objects.get(action="token.revoked")
    assert (event.actor, event.subject, event.via) == (full_admin, reader, "api")


def test_sign_ins_and_failures_are_audited_in_the_right_tenant(operator, other_tenant):
    client = Client(HTTP_HOST=operator.tenant.host)
    client.post("/login/", {"username": operator.email, "password": "wrong"})
    client.post("/login/", {"username": operator.email, "password": PASSWORD})
    Client(HTTP_HOST=other_tenant.host).post(
        "/login/", {"username": operator.email, "password": PASSWORD}
    )
    assert actions(operator.tenant) == ["user.signed_in", "user.sign_in_failed"]
    failed = AuditEvent.objects.get(tenant=other_tenant)
    assert failed.action == "user.sign_in_failed" and failed.subject is None


def test_a_deprovisioned_owners_refused_call_is_audited_once_per_resolution(issue, operator):
    token, secret = issue(operator)
    call("deprovisionuser", operator.email)
    client = api_client(secret)
    for _ in range(5):
        assert client.get("/api/v1/me/", REMOTE_ADDR="198.51.100.7").status_code == 403
    denied = AuditEvent.objects.filter(action="token.denied_deprovisioned")
    assert denied.count() == 1 and denied.get().client_ip == "198.51.100.7"
    token.refresh_from_db()
    assert token.last_denied_ip == "198.51.100.7" and token.last_denied_at is not None
    assert AuditEvent.objects.filter(action="user.deprovisioned", subject=operator).exists()


def test_use_after_a_role_change_is_audited_once_per_change(issue, operator):
    _, secret = issue(operator)
    client = api_client(secret)
    call("setrole", operator.email, "security_reader")
    for _ in range(3):
        client.get("/api/v1/me/")
    call("setrole", operator.email, "full_admin")
    client.get("/api/v1/me/")
    assert AuditEvent.objects.filter(action="token.used_after_role_change").count() == 2
    assert AuditEvent.objects.filter(action="user.role_changed").count() == 2


def call(*args):
    from django.core.management import call_command

    call_command(*args, stdout=io.StringIO())


def test_drift_is_shown_to_the_owner_and_full_admins(signed_in, issue, operator, full_admin):
    issue(operator, name="CI")
    operator.set_role(Role.SECURITY_READER)
    note = "Issued as Security operator, now Security reader: read only"
    for user in (operator, full_admin):
        assert (
            note
            in signed_in(user).get("/settings/security-extensions/api-tokens/").content.decode()
        )


def test_events_are_append_only(full_admin, tenant):
    event = audit_record(tenant=tenant, action="user.signed_in", actor=full_admin)
    event.detail = "rewritten"
    with pytest.raises(ValueError, match="append-only"):
        event.save()


@pytest.mark.parametrize("persona", ["operator", "reader", "other_tenant_admin"])
def test_only_full_admins_of_the_tenant_see_its_log(request, signed_in, full_admin, persona):
    audit_record(tenant=full_admin.tenant, action="user.signed_in", actor=full_admin)
    client = signed_in(request.getfixturevalue(persona))
    response = client.get(LOG)
    if persona == "other_tenant_admin":
        assert response.status_code == 200
        assert "admin@contoso.test" not in response.content.decode()
    else:
        assert response.status_code == 404
        assert client.get(LOG + "export.csv").status_code == 404


def test_the_log_lists_filters_and_paginates(signed_in, full_admin, operator, tenant):
    for _ in range(60):
        audit_record(tenant=tenant, action="user.signed_in", actor=operator, subject=operator)
    audit_record(tenant=tenant, action="user.role_changed", actor=full_admin, subject=operator)
    client = signed_in(full_admin)
    first = client.get(LOG)
    assert len(first.context["page"].object_list) == 50
    assert "Showing 1–50 of 61" in first.content.decode()
    changed = client.get(LOG, {"action": "user.role_changed"}).context["page"].object_list
    assert len(changed) == 1
    by_user = client.get(LOG, {"user": "admin@"}).context["page"].object_list
    assert len(by_user) == 1
    tomorrow = (timezone.now() + timedelta(days=1)).date().isoformat()
    assert not client.get(LOG, {"since": tomorrow}).context["page"].object_list


@pytest.mark.parametrize(
    "query",
    [
        {"action": "nope"},
        {"since": "yesterday"},
        {"since": "2030-01-02", "until": "2030-01-01"},
        {"user": "x" * 300},
    ],
)
def test_bad_filters_get_a_clear_message(signed_in, full_admin, query):
    response = signed_in(full_admin).get(LOG, query)
    assert response.status_code == 400
    assert 'class="field-error"' in response.content.decode()


def test_the_csv_export_follows_the_filters_and_defuses_formulas(signed_in, full_admin, tenant):
    audit_record(tenant=tenant, action="user.signed_in", actor=full_admin, detail="=HYPERLINK()")
    audit_record(tenant=tenant, action="user.role_changed", actor=full_admin)
    response = signed_in(full_admin).get(LOG + "export.csv", {"action": "user.signed_in"})
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:2] == ["time_utc", "event"]
    assert len(rows) == 2 and rows[1][1] == "user.signed_in"
    assert dict(zip(rows[0], rows[1], strict=True))["detail"] == "'=HYPERLINK()"


def csv_rows(response):
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_csv_export_tells_tokens_of_one_name_apart_by_id_and_hint(
    signed_in, issue, full_admin, tenant
):
    first, _ = issue(full_admin, name="Deploy")
    second, _ = issue(full_admin, name="Deploy")
    audit_record(tenant=tenant, action="user.signed_in", actor=full_admin)
    response = signed_in(full_admin).get(LOG + "export.csv")
    rows = csv_rows(response)
    assert list(rows[0]) == [
        "time_utc", "event", "via", "actor", "subject", "token", "client_ip", "detail",
        "token_id", "token_hint",
    ]  # fmt: skip
    about_tokens = {(row["token"], row["token_id"], row["token_hint"]) for row in rows[1:]}
    assert about_tokens == {
        ("Deploy", str(first.pk), first.hint),
        ("Deploy", str(second.pk), second.hint),
    }
    assert (rows[0]["token_id"], rows[0]["token_hint"]) == ("", "")  # the sign-in


@pytest.mark.parametrize(
    "query",
    [
        {"since": "2030-01-02", "until": "2030-01-01"},
        {"since": "2030-13-01"},
        {"until": "yesterday", "action": "user.signed_in"},
    ],
)
def test_a_bad_date_range_shows_its_error_and_no_events(signed_in, full_admin, tenant, query):
    audit_record(tenant=tenant, action="user.signed_in", actor=full_admin, detail="Visible?")
    response = signed_in(full_admin).get(LOG, query)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'class="field-error"' in html
    assert "<table" not in html and "Visible?" not in html
    assert "<h2>Filter not applied</h2>" in html and ">clear the filters</a>" in html
    assert "Export CSV" not in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            {"since": "2030-01-02", "until": "2030-01-01"},
            "To: The end date is before the start date.",
        ),
        ({"since": "2030-13-01"}, "From: Enter a valid date."),
    ],
)
def test_a_bad_date_range_exports_nothing_but_a_one_line_400(
    signed_in, full_admin, tenant, query, message
):
    audit_record(tenant=tenant, action="user.signed_in", actor=full_admin, detail="Visible?")
    response = signed_in(full_admin).get(LOG + "export.csv", query)
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert "attachment" not in response.get("Content-Disposition", "")
    body = response.content.decode()
    assert body == f"Nothing was exported. {message} Correct the filter and export again.\n"


def test_the_api_lists_events_for_full_admins_only(issue, full_admin, operator, tenant):
    audit_record(tenant=tenant, action="user.signed_in", actor=operator)
    _, admin_secret = issue(full_admin)
    _, operator_secret = issue(operator)
    body = api_client(admin_secret).get("/api/v1/audit/", {"action": "user.signed_in"}).json()
    assert body["count"] == 1 and body["results"][0]["actor"] == "operator@contoso.test"
    denied = api_client(operator_secret).get("/api/v1/audit/")
    assert denied.status_code == 403


def test_the_api_never_shows_another_tenants_events(issue, full_admin, other_tenant_admin):
    audit_record(
        tenant=other_tenant_admin.tenant, action="user.signed_in", actor=other_tenant_admin
    )
    _, secret = issue(full_admin)
    results = api_client(secret).get("/api/v1/audit/").json()["results"]
    assert all(r["actor"] != "admin@fabrikam.test" for r in results)


def test_the_api_refuses_bad_filters(issue, full_admin):
    _, secret = issue(full_admin)
    response = api_client(secret).get("/api/v1/audit/", {"since": "last week"})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("since:")


def test_the_audit_api_is_read_only(issue, full_admin):
    _, secret = issue(full_admin)
    assert api_client(secret).delete("/api/v1/audit/").status_code == 405


def test_event_ids_are_opaque_and_reveal_nothing_of_other_tenants(
    issue, full_admin, other_tenant_admin, tenant, other_tenant
):
    """Two tenants' events interleaved: tenant A's ids must not count tenant B's."""
    for _ in range(4):
        audit_record(tenant=tenant, action="user.signed_in", actor=full_admin)
        audit_record(tenant=other_tenant, action="user.signed_in", actor=other_tenant_admin)
    _, secret = issue(full_admin)  # audited too
    results = api_client(secret).get("/api/v1/audit/").json()["results"]
    ids = [event["id"] for event in results]
    assert len(ids) == len(set(ids)) == 5
    assert all(isinstance(i, str) for i in ids)
    assert all(uuid.UUID(i).version == 4 and str(uuid.UUID(i)) == i for i in ids)
    keys = {str(pk) for pk in AuditEvent.objects.values_list("pk", flat=True)}
    assert not keys & set(ids)  # the database's sequence shows nowhere


def test_pages_of_events_are_stable_and_cost_the_same_whatever_the_rows(issue, full_admin, tenant):
    """Events of the same instant still come in one order, so walking the pages sees each
    event exactly once; and a page costs the same queries however many events there are."""
    same_instant = timezone.now()
    for _ in range(7):
        AuditEvent.objects.create(tenant=tenant, action="user.signed_in", created_at=same_instant)
    _, secret = issue(full_admin)
    client = api_client(secret)
    seen = []
    for number in (1, 2, 3, 4):
        page = client.get("/api/v1/audit/", {"page_size": 2, "page": number}).json()
        seen += [event["id"] for event in page["results"]]
    assert len(seen) == len(set(seen)) == 8

    def queries_for_a_page():
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/v1/audit/", {"page_size": 5}).status_code == 200
        return len(queries)

    before = queries_for_a_page()
    for _ in range(20):
        audit_record(tenant=tenant, action="user.signed_in", actor=full_admin)
    assert queries_for_a_page() == before


OPAQUE_IDS = [("audit", "0004_auditevent_public_id"), ("integrations", "0002_public_ids")]
BEFORE_OPAQUE_IDS = [("audit", "0003_identity_actions"), ("integrations", "0001_initial")]


@pytest.mark.django_db(transaction=True)
def test_migrating_gives_existing_events_and_agents_distinct_opaque_ids():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE_OPAQUE_IDS)
    old = executor.loader.project_state(BEFORE_OPAQUE_IDS).apps
    tenant = old.get_model("tenants", "Tenant").objects.create(slug="old", name="Old")
    admin = old.get_model("tenants", "User").objects.create(
        email="admin@old.test", tenant=tenant, role="full_admin"
    )
    for n in range(3):
        old.get_model("audit", "AuditEvent").objects.create(tenant=tenant, action="user.signed_in")
        token = old.get_model("tokens", "Token").objects.create(
            tenant=tenant, owner=admin, kind="siem", name=f"t{n}", digest=f"{n:064}", hint="x"
        )
        old.get_model("integrations", "SiemAgent").objects.create(
            tenant=tenant, name=f"a{n}", token=token, port=514, created_by=admin, format="cef"
        )
    executor = MigrationExecutor(connection)
    executor.migrate(OPAQUE_IDS)
    new = executor.loader.project_state(OPAQUE_IDS).apps
    for model in (new.get_model("audit", "AuditEvent"), new.get_model("integrations", "SiemAgent")):
        ids = list(model.objects.values_list("public_id", flat=True))
        assert len(ids) == len(set(ids)) == 3 and all(i.version == 4 for i in ids)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


# --- What a failed sign-in may write: no echo of the input, no hidden characters ----------


def audit_trail_as_a_full_admin_sees_it(signed_in, issue, full_admin):
    """The audit page's HTML, the CSV export and GET /api/v1/audit/, as text."""
    client = signed_in(full_admin)
    page = client.get(LOG).content.decode()
    csv_export = b"".join(client.get(LOG + "export.csv").streaming_content).decode()
    _, secret = issue(full_admin, name="audit reader")
    api = api_client(secret).get("/api/v1/audit/").content.decode()
    return page, csv_export, api


@pytest.mark.parametrize("typed", ["{secret}", " {secret}\n", "mail me at {secret}"])
def test_a_token_pasted_into_the_sign_in_email_never_reaches_the_audit_trail(
    signed_in, issue, full_admin, tenant, typed
):
    secret = crypto.generate()
    client = Client(HTTP_HOST=tenant.host)
    client.post("/login/", {"username": typed.format(secret=secret), "password": "x"})
    failed = AuditEvent.objects.get(action="user.sign_in_failed")
    assert failed.detail == "Sign-in failed for an unknown account."
    for text in audit_trail_as_a_full_admin_sees_it(signed_in, issue, full_admin):
        assert "Sign-in failed for an unknown account." in text
        assert secret not in text and secret[:12] not in text and secret[-12:] not in text


def test_a_failed_sign_in_of_an_account_names_the_account_not_the_input(operator):
    client = Client(HTTP_HOST=operator.tenant.host)
    client.post("/login/", {"username": f"  {operator.email.upper()} ", "password": "wrong"})
    failed = AuditEvent.objects.get(action="user.sign_in_failed")
    assert failed.detail == f"Sign-in failed for “{operator.email}”."
    assert failed.subject == operator


HIDDEN = {
    "newline": "\n",
    "carriage-return": "\r",
    "nul": "\x00",
    "escape": "\x1b",
    "right-to-left-override": "\u202e",
    "left-to-right-isolate": "\u2066",
    "zero-width-space": "\u200b",
    "byte-order-mark": "\ufeff",
    "line-separator": "\u2028",
    "paragraph-separator": "\u2029",
}


@pytest.mark.parametrize("hidden", HIDDEN.values(), ids=HIDDEN.keys())
def test_control_and_format_characters_are_stripped_from_every_event(
    signed_in, issue, full_admin, tenant, hidden
):
    # Through the service and straight through the model: no caller can store them.
    secret = crypto.generate()
    text = f"first{hidden}line {secret[:20]}{hidden}{secret[20:]}"
    audit_record(tenant=tenant, action="user.updated", detail=text)
    AuditEvent.objects.create(
        tenant=tenant, action="user.updated", detail=text, token_name=f"n{hidden}ame"
    )
    for event in AuditEvent.objects.filter(action="user.updated"):
        assert event.detail == "firstline [redacted]"
        assert event.token_name in ("", "name")
    for text in audit_trail_as_a_full_admin_sees_it(signed_in, issue, full_admin):
        assert "firstline [redacted]" in text
        assert secret[:12] not in text and secret[-12:] not in text


def test_a_long_detail_is_cut_after_redaction(tenant):
    secret = crypto.generate()
    event = audit_record(tenant=tenant, action="user.updated", detail="x" * 280 + secret)
    assert event.detail == "x" * 280 + "[redacted]"


def test_where_an_event_came_from_has_a_column_of_its_own(signed_in, full_admin, tenant):
    audit_record(tenant=tenant, action="token.generated", via="command", actor=full_admin)
    html = signed_in(full_admin).get("/settings/audit-log/").content.decode()
    assert '<th scope="col">Event</th><th scope="col">Through</th>' in html
    assert '<td data-label="Through">Command</td>' in html and "· Command" not in html
    assert "<strong>Through</strong> says where an event came from" in html


def test_the_log_shows_the_exact_time_as_text_not_only_on_hover(signed_in, full_admin, tenant):
    audit_record(tenant=tenant, action="user.signed_in", actor=full_admin, subject=full_admin)
    event = AuditEvent.objects.get(tenant=tenant, action="user.signed_in")
    exact = event.created_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    html = signed_in(full_admin).get(LOG).content.decode()
    assert f'<span class="hint exact-time">{exact}</span>' in html
    assert ">just now</time>" in html


def test_token_names_link_to_the_api_token_pages_revoked_ones_included(
    signed_in, issue, full_admin, operator, tenant
):
    live, _secret = issue(operator, name="Live token")
    revoked, _secret = issue(operator, name="Revoked token")
    token_revoke(token=revoked, by=full_admin)
    provisioning, _secret = issue(full_admin, name="Okta", kind=TokenKind.PROVISIONING)
    for token in (live, revoked, provisioning):
        audit_record(tenant=tenant, action="token.used_after_role_change", token=token)
    html = signed_in(full_admin).get(LOG).content.decode()
    assert f'<a href="/settings/security-extensions/api-tokens/{live.pk}/">Live token</a>' in html
    assert (
        f'<a href="/settings/security-extensions/api-tokens/{revoked.pk}/">Revoked token</a>'
        in html
    )
    assert f"api-tokens/{provisioning.pk}/" not in html and "Okta" in html


def test_the_log_table_scrolls_in_a_named_focusable_region(signed_in, full_admin, tenant):
    audit_record(tenant=tenant, action="user.signed_in", actor=full_admin, subject=full_admin)
    html = signed_in(full_admin).get(LOG).content.decode()
    assert 'role="region" aria-label="Audit events" tabindex="0"' in html


def test_e_mail_addresses_may_break_after_the_at_only(signed_in, full_admin, tenant):
    audit_record(tenant=tenant, action="user.signed_in", actor=full_admin, subject=full_admin)
    html = signed_in(full_admin).get(LOG).content.decode()
    assert ">admin@<wbr>contoso.test</td>" in html
