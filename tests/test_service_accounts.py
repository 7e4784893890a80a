"""Service accounts (CONTRACT §15): a tenant's non-human identity with a role and API tokens,
never able to sign in, always with a sponsor, whose tokens outlive the people who made them."""

import io
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEvent
from tenants.models import Role, ServiceAccount, User
from tenants.services import (
    service_account_create,
    service_account_set_sponsor,
    user_deprovision,
    user_set_role,
)
from tests.api import api_client
from tests.factories import PASSWORD, UserFactory
from tests.oidc import oidc_provider  # noqa: F401
from tests.test_admin import admin_sign_in, signed_in_to_admin
from tests.test_scim import create, patch, scim
from tests.test_sign_in import INVALID, sign_in
from tests.test_sso import configure
from tests.test_sso import sign_in as sso_sign_in
from tokens import crypto
from tokens.models import Token, TokenKind, TokenNetwork, TokenUsage
from tokens.services import token_issue

ME = "/api/v1/me/"
TOKENS_PAGE = "/settings/security-extensions/api-tokens/"


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def account(full_admin):
    return service_account_create(
        tenant=full_admin.tenant,
        name="ci-deploy",
        role=Role.SECURITY_OPERATOR,
        sponsor=full_admin,
        by=full_admin,
    )


@pytest.fixture
def account_secret(account):
    return token_issue(owner=account.user, name="Deploys").secret


# --- Never signs in -------------------------------------------------------------------------


def test_a_service_account_has_no_usable_password_and_is_audited(account, full_admin):
    assert not account.user.has_usable_password()
    assert account.user.is_service_account and account.user.role == Role.SECURITY_OPERATOR
    created = AuditEvent.objects.get(action="service_account.created")
    assert created.actor == full_admin and created.subject == account.user
    assert "sponsored by admin@contoso.test" in created.detail


def test_the_sign_in_form_refuses_a_service_account_even_with_a_password_set(account):
    # Set behind the services' back (a database edit, an old release): still refused.
    account.user.set_password(PASSWORD)
    account.user.save()
    client, response = sign_in(account.tenant.host, account.user.email)
    assert response.status_code == 200 and INVALID in response.content.decode()
    assert client.get("/about/").status_code == 302


def test_django_admin_refuses_a_service_account(account):
    account.user.set_password(PASSWORD)
    account.user.save()
    client, response = admin_sign_in(account.user.email)
    assert response.status_code == 200 and not signed_in_to_admin(client)


def test_changepassword_refuses_a_service_account(account):
    with pytest.raises(CommandError, match="service account, which never signs in"):
        run("changepassword", account.user.email, "--tenant", "contoso")


def test_single_sign_on_refuses_a_service_account(oidc_provider, account):  # noqa: F811
    configure(account.tenant, oidc_provider)
    try:
        browser, response = sso_sign_in(account.tenant.host, account.user.email)
    finally:
        oidc_provider.behave()
    assert response.status_code == 403 and "is a service account and cannot sign in" in (
        response.text
    )
    assert browser.get("/about/").status_code == 302
    assert AuditEvent.objects.filter(action="user.sign_in_failed", subject=account.user).exists()


@pytest.fixture
def provisioning(full_admin):
    return token_issue(owner=full_admin, name="Okta", kind=TokenKind.PROVISIONING).secret


def test_scim_neither_lists_nor_finds_a_service_account(provisioning, account):
    client = scim(provisioning)
    listed = client.get("/scim/v2/Users").json()
    assert [r["userName"] for r in listed["Resources"]] == ["admin@contoso.test"]
    name = account.user.email
    found = client.get("/scim/v2/Users", {"filter": f'userName eq "{name}"'}).json()
    assert found["totalResults"] == 0
    # Nor can a provider take the account's address for a person (reserved, and taken).
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name}
    assert create(client, body).status_code in (400, 409)
    assert list(User.objects.with_email(name)) == [account.user]
    assert account.user.is_service_account and not account.user.scim_identities.exists()


# --- A sponsor, always ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "message"),
    [
        ("robot", "is a service account; a sponsor is a person"),
        ("former", "is deprovisioned"),
        ("outsider", "is not a user of contoso"),
    ],
)
def test_a_sponsor_is_an_active_person_of_the_tenant(
    account, full_admin, other_tenant_admin, who, message
):
    former = UserFactory(tenant=full_admin.tenant, email="former@contoso.test")
    former.deprovision()
    sponsor = {"robot": account.user, "former": former, "outsider": other_tenant_admin}[who]
    with pytest.raises(ValidationError, match=message):
        service_account_create(
            tenant=full_admin.tenant, name="other", role=Role.SECURITY_READER, sponsor=sponsor
        )
    with pytest.raises(ValidationError, match=message):
        service_account_set_sponsor(account=account, sponsor=sponsor)
    assert ServiceAccount.objects.count() == 1


def test_deprovisioning_the_sponsor_leaves_the_tokens_working_and_flags_the_account(
    account, account_secret, full_admin, caching
):
    client = api_client(account_secret)
    assert client.get(ME).status_code == 200
    user_deprovision(user=full_admin)
    assert client.get(ME).status_code == 200
    account.user.refresh_from_db()
    assert account.user.sponsor_missing_since is not None
    event = AuditEvent.objects.get(action="service_account.sponsor_missing")
    assert event.subject == account.user and "admin@contoso.test deprovisioned" in event.detail


def test_scim_deprovisioning_the_sponsor_leaves_the_tokens_working(
    provisioning, account, account_secret, full_admin
):
    client = scim(provisioning)
    found = client.get("/scim/v2/Users", {"filter": 'userName eq "admin@contoso.test"'}).json()
    assert (
        patch(
            client, found["Resources"][0]["id"], {"op": "replace", "path": "active", "value": False}
        ).status_code
        == 204
    )
    assert api_client(account_secret).get(ME).status_code == 200
    assert AuditEvent.objects.filter(action="service_account.sponsor_missing").count() == 1


ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"


def provisioned(client, email, manager_id=None):
    body = {"schemas": [USER_SCHEMA], "userName": email, "emails": [{"value": email}]}
    if manager_id:
        body = {
            **body,
            "schemas": [USER_SCHEMA, ENTERPRISE],
            ENTERPRISE: {"manager": {"value": manager_id, "$ref": f"Users/{manager_id}"}},
        }
    response = create(client, body)
    assert response.status_code == 201, response.content
    return response.json()["id"], User.objects.get(email=email)


@pytest.mark.parametrize("via", ["scim", "command"])
def test_a_deprovisioned_sponsor_passes_the_accounts_to_their_directory_manager(
    provisioning, full_admin, via
):
    client = scim(provisioning)
    boss_id, boss = provisioned(client, "boss@contoso.example")
    ann_id, ann = provisioned(client, "ann@contoso.example", manager_id=boss_id)
    account = service_account_create(
        tenant=ann.tenant, name="sync", role=Role.SECURITY_READER, sponsor=ann
    )
    if via == "scim":
        operation = {"op": "replace", "path": "active", "value": False}
        assert patch(client, ann_id, operation).status_code == 204
    else:
        run("deprovisionuser", ann.email, "--tenant", "contoso")
    account.refresh_from_db()
    assert account.sponsor == boss and account.user.sponsor_missing_since is None
    event = AuditEvent.objects.get(action="service_account.sponsor_changed")
    assert event.detail == (
        "Sponsor of sync: ann@contoso.example → boss@contoso.example, their manager in the "
        "directory (the sponsor was deprovisioned)."
    )
    assert not AuditEvent.objects.filter(action="service_account.sponsor_missing").exists()


def test_a_manager_who_may_not_sponsor_leaves_the_account_flagged(provisioning, full_admin):
    client = scim(provisioning)
    boss_id, boss = provisioned(client, "boss@contoso.example")
    _, ann = provisioned(client, "ann@contoso.example", manager_id=boss_id)
    account = service_account_create(
        tenant=ann.tenant, name="sync", role=Role.SECURITY_READER, sponsor=ann
    )
    user_deprovision(user=boss)
    user_deprovision(user=ann)
    account.refresh_from_db()
    assert account.sponsor == ann and account.user.sponsor_missing_since is not None


def test_a_person_who_sponsors_nothing_is_deprovisioned_as_before(account, operator):
    user_deprovision(user=operator)
    account.user.refresh_from_db()
    assert account.user.sponsor_missing_since is None
    assert not AuditEvent.objects.filter(action="service_account.sponsor_missing").exists()


def later(monkeypatch, days):
    moment = timezone.now() + timedelta(days=days)
    monkeypatch.setattr(timezone, "now", lambda: moment)


def test_after_the_grace_the_tokens_are_refused_naming_why(
    account, account_secret, full_admin, monkeypatch, caching
):
    client = api_client(account_secret)
    user_deprovision(user=full_admin)
    later(monkeypatch, 29)
    assert client.get(ME).status_code == 200
    later(monkeypatch, 31)  # decided on the cached owner row: nothing was announced
    refused = client.get(ME)
    assert refused.status_code == 403
    assert "service account has had no sponsor since" in refused.json()["detail"]
    assert "a full admin must name a new sponsor" in refused.json()["detail"]


def test_the_grace_is_the_tenants(account, account_secret, full_admin, monkeypatch):
    tenant = full_admin.tenant
    tenant.service_account_sponsor_grace_days = 2
    tenant.save()
    user_deprovision(user=full_admin)
    later(monkeypatch, 3)
    assert api_client(account_secret).get(ME).status_code == 403


def test_a_new_sponsor_makes_the_tokens_work_again_at_once_and_is_audited(
    account, account_secret, full_admin, operator, monkeypatch, caching
):
    client = api_client(account_secret)
    user_deprovision(user=full_admin)
    later(monkeypatch, 31)
    assert client.get(ME).status_code == 403
    assert service_account_set_sponsor(account=account, sponsor=operator, by=operator)
    assert client.get(ME).status_code == 200
    account.refresh_from_db()
    assert account.sponsor == operator and account.user.sponsor_missing_since is None
    event = AuditEvent.objects.get(action="service_account.sponsor_changed")
    assert event.detail == "Sponsor of ci-deploy: admin@contoso.test → operator@contoso.test."


def test_a_flagged_accounts_cached_token_costs_no_query(
    account, account_secret, full_admin, caching
):
    user_deprovision(user=full_admin)
    client = api_client(account_secret)
    client.get(ME)
    client.get(ME)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(ME).status_code == 200
    assert len(queries) == 0


def test_the_tokens_act_with_the_accounts_role_at_each_call(account, account_secret, caching):
    client = api_client(account_secret)
    token = Token.objects.get(owner=account.user)
    assert client.get(ME).status_code == 200
    user_set_role(user=account.user, role=Role.SECURITY_READER)
    assert client.delete(f"/api/v1/tokens/{token.pk}/").status_code == 403


# --- Commands --------------------------------------------------------------------------------


def test_createserviceaccount_creates_an_account_that_generatetoken_serves(full_admin):
    out = run(
        "createserviceaccount",
        "siem-sync",
        "--tenant",
        "contoso",
        "--role",
        "security_reader",
        "--sponsor",
        "ADMIN@contoso.test",
    )
    assert out == (
        "Created service account siem-sync (Security reader) in tenant contoso, sponsored by "
        "admin@contoso.test.\n"
    )
    account = ServiceAccount.objects.get(name="siem-sync")
    assert account.sponsor == full_admin and account.user.role == Role.SECURITY_READER
    assert AuditEvent.objects.get(action="service_account.created").via == "command"
    secret = run(
        "generatetoken", "--service-account", "siem-sync", "--tenant", "contoso", "--name", "Sync"
    )
    assert secret.count("\n") == 1 and crypto.is_well_formed(secret.strip())
    token = Token.objects.get(digest=crypto.digest(secret.strip()))
    assert token.owner == account.user and token.is_read_only
    assert api_client(secret.strip()).get(ME).status_code == 200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x", "--tenant", "nope", "--role", "full_admin"], "No tenant with slug 'nope'."),
        (["x", "--tenant", "contoso", "--role", "boss"], "Unknown role 'boss'"),
        (
            ["x", "--tenant", "contoso", "--role", "full_admin", "--sponsor", "no@contoso.test"],
            "No user with e-mail 'no@contoso.test' in contoso.",
        ),
        (
            ["Bad Name", "--tenant", "contoso", "--role", "full_admin"],
            "Service account 'Bad Name' refused: A service account name is 1-63 lowercase",
        ),
        (
            ["ci-deploy", "--tenant", "contoso", "--role", "full_admin"],
            "already has a service account of this name",
        ),
        (
            [
                "x",
                "--tenant",
                "contoso",
                "--role",
                "full_admin",
                "--sponsor",
                "ci-deploy@service-account.invalid",
            ],
            "a sponsor is a person",
        ),
    ],
)
def test_createserviceaccount_refuses_bad_input_with_one_line(account, args, message):
    if "--sponsor" not in args:
        args = [*args, "--sponsor", "admin@contoso.test"]
    with pytest.raises(CommandError) as error:
        run("createserviceaccount", *args)
    assert message in str(error.value) and "\n" not in str(error.value)
    assert ServiceAccount.objects.count() == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--service-account", "nope", "--tenant", "contoso"],
            "No service account 'nope' in 'contoso'.",
        ),
        (["--service-account", "ci-deploy"], "--service-account needs --tenant SLUG."),
        (
            ["admin@contoso.test", "--service-account", "ci-deploy", "--tenant", "contoso"],
            "Give EMAIL or --service-account, not both.",
        ),
        ([], "Name the token's owner: EMAIL, or --service-account NAME."),
    ],
)
def test_generatetoken_for_a_service_account_refuses_bad_input(account, args, message):
    with pytest.raises(CommandError) as error:
        run("generatetoken", *args, "--name", "x")
    assert str(error.value) == message
    assert not Token.objects.exists()


@pytest.mark.parametrize(
    "owner",
    [
        ["--service-account", "ci-deploy", "--tenant", "contoso"],
        ["ci-deploy@service-account.invalid", "--tenant", "contoso"],
    ],
)
def test_rotatetoken_rotates_an_accounts_token_printing_only_the_new_secret(
    account, account_secret, owner
):
    out = run("rotatetoken", *owner, "--name", "Deploys")
    new = out.removesuffix("\n")
    assert out == new + "\n" and crypto.is_well_formed(new) and new != account_secret
    token = Token.objects.get(owner=account.user)
    assert token.previous_valid_until - token.rotated_at == timedelta(hours=24)
    assert api_client(account_secret).get(ME).status_code == 200  # in its overlap
    assert api_client(new).get(ME).status_code == 200
    event = AuditEvent.objects.get(action="token.rotated")
    assert event.via == "command" and event.actor == account.user


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--service-account", "nope", "--tenant", "contoso", "--name", "Deploys"],
            "No service account 'nope' in 'contoso'.",
        ),
        (["--service-account", "ci-deploy", "--name", "Deploys"], "--service-account needs"),
        (
            ["--service-account", "ci-deploy", "--tenant", "contoso", "--name", "nope"],
            "Service account ci-deploy has no live API token named 'nope'.",
        ),
        (
            ["--service-account", "Bad Name", "--tenant", "contoso", "--name", "Deploys"],
            "No service account 'Bad Name' in 'contoso'.",
        ),
    ],
)
def test_rotatetoken_for_a_service_account_refuses_bad_input_with_one_line(
    account, account_secret, args, message
):
    with pytest.raises(CommandError) as refused:
        run("rotatetoken", *args)
    assert str(refused.value).startswith(message) and "\n" not in str(refused.value)
    assert "service-account.invalid" not in str(refused.value)
    assert not Token.objects.filter(rotated_at__isnull=False).exists()


def test_suspendtoken_and_resumetoken_name_a_service_account_never_its_address(
    account, account_secret
):
    owner = ["--service-account", "ci-deploy", "--tenant", "contoso", "--name", "Deploys"]
    said = run("suspendtoken", *owner) + run("resumetoken", *owner)
    assert said == (
        "Suspended 'Deploys' of service account ci-deploy: calls with it are refused.\n"
        "Resumed 'Deploys' of service account ci-deploy: calls with it work again.\n"
    )
    assert api_client(account_secret).get(ME).status_code == 200


# --- Pages ------------------------------------------------------------------------------------


def test_the_tokens_table_names_the_account_as_owner_with_a_badge(
    signed_in, full_admin, account, account_secret
):
    client = signed_in(full_admin)
    with CaptureQueriesContext(connection) as queries:
        html = client.get("/settings/security-extensions/api-tokens/").content.decode()
    cell = html[html.index('data-label="Generated by"><span class="owner-cell">') :]
    cell = cell.split("</td>", 1)[0]
    assert '<span class="owner">ci-deploy</span>' in cell
    assert '<span class="badge badge-service">Service account</span>' in cell
    assert "service-account.invalid" not in cell
    # The account comes with its token, in the listing's one query.
    assert not [q for q in queries if 'FROM "tenants_serviceaccount"' in q["sql"]]


PAGE = "/settings/security-extensions/service-accounts/"


@pytest.mark.parametrize("persona", ["operator", "reader"])
def test_only_full_admins_see_the_service_accounts_page(request, signed_in, account, persona):
    client = signed_in(request.getfixturevalue(persona))
    assert client.get(PAGE).status_code == 404
    assert client.post(f"{PAGE}ci-deploy/sponsor/", {"sponsor": "1"}).status_code == 404
    home = client.get("/settings/security-extensions/").content.decode()
    assert PAGE not in home


def test_the_page_lists_accounts_with_role_sponsor_and_the_no_sponsor_flag(
    signed_in, full_admin, operator, account
):
    client = signed_in(operator)  # signed in before the admin leaves
    admin = signed_in(full_admin)
    assert f'href="{PAGE}"' in admin.get("/settings/security-extensions/").content.decode()
    html = admin.get(PAGE).content.decode()
    assert f'<a class="token-name" href="{PAGE}ci-deploy/">ci-<wbr>deploy</a>' in html
    assert '<td data-label="Role">Security operator</td>' in html
    assert '<span class="owner">admin@<wbr>contoso.test</span>' in html
    user_set_role(user=operator, role=Role.FULL_ADMIN)
    user_deprovision(user=full_admin)
    html = client.get(PAGE).content.decode()
    assert '<span class="badge badge-warning">No sponsor</span>' in html
    assert "was admin@<wbr>contoso.test" in html


def test_a_full_admin_creates_an_account_sponsored_by_themselves_by_default(signed_in, full_admin):
    client = signed_in(full_admin)
    form = {
        "name": "backup",
        "description": "Nightly",
        "role": "security_reader",
        "sponsor": str(full_admin.pk),
    }
    response = client.post(PAGE, form)
    assert response.status_code == 302
    account = ServiceAccount.objects.get(name="backup")
    assert account.sponsor == full_admin and account.description == "Nightly"
    assert AuditEvent.objects.get(action="service_account.created").via == "page"
    assert "Created service account backup." in client.get(PAGE).content.decode()
    html = client.get(f"{PAGE}backup/").content.decode()
    assert f'<option value="{full_admin.pk}" selected>admin@contoso.test</option>' in html


def test_the_create_form_refuses_bad_input_and_sponsors_who_may_not_sponsor(
    signed_in, full_admin, account
):
    former = UserFactory(tenant=full_admin.tenant, email="former@contoso.test")
    former.deprovision()
    client = signed_in(full_admin)
    for name, sponsor in (
        ("Bad Name", full_admin.pk),
        ("ok", former.pk),
        ("ok", account.pk),
        ("ci-deploy", full_admin.pk),
    ):
        form = {"name": name, "role": "security_reader", "sponsor": str(sponsor)}
        response = client.post(PAGE, form)
        assert response.status_code == 400 and 'class="field-error"' in response.text
    assert ServiceAccount.objects.count() == 1


def test_a_full_admin_names_a_new_sponsor_and_the_tokens_work_again(
    signed_in, full_admin, operator, account, account_secret, monkeypatch
):
    user_set_role(user=operator, role=Role.FULL_ADMIN)
    client = signed_in(operator)
    user_deprovision(user=full_admin)
    later(monkeypatch, 31)
    assert api_client(account_secret).get(ME).status_code == 403
    monkeypatch.undo()  # a month on, the session would have expired
    response = client.post(f"{PAGE}ci-deploy/sponsor/", {"sponsor": str(operator.pk)})
    assert response.status_code == 302
    assert api_client(account_secret).get(ME).status_code == 200
    account.refresh_from_db()
    assert account.sponsor == operator
    refused = client.post(f"{PAGE}ci-deploy/sponsor/", {"sponsor": str(full_admin.pk)})
    assert refused.status_code == 400
    account.refresh_from_db()
    assert account.sponsor == operator


# --- E-mail -----------------------------------------------------------------------------------


def send_notifications():
    call_command("sendnotifications", stdout=io.StringIO())


def test_every_full_admin_is_mailed_once_when_an_account_loses_its_sponsor(
    full_admin, operator, account, mailoutbox
):
    UserFactory(tenant=full_admin.tenant, role=Role.FULL_ADMIN, email="second@contoso.test")
    service_account_create(  # a full-admin service account: no mailbox, no mail
        tenant=full_admin.tenant, name="robot", role=Role.FULL_ADMIN, sponsor=operator
    )
    user_deprovision(user=full_admin)
    send_notifications()
    send_notifications()
    mails = [m for m in mailoutbox if "no sponsor" in m.subject]
    assert [m.to for m in mails] == [["second@contoso.test"]]
    [message] = mails
    assert message.subject == "[Contoso] Service account ci-deploy has no sponsor"
    assert "Sponsor admin@contoso.test deprovisioned" in message.body
    assert (
        "http://contoso.us.portal.localhost/settings/security-extensions/service-accounts/"
        in message.body
    )


def test_no_mail_when_a_new_sponsor_was_named_before_the_run(
    full_admin, operator, account, mailoutbox
):
    user_deprovision(user=full_admin)
    service_account_set_sponsor(account=account, sponsor=operator)
    user_set_role(user=operator, role=Role.FULL_ADMIN)
    send_notifications()
    assert not [m for m in mailoutbox if "no sponsor" in m.subject]


def test_a_service_account_gets_neither_digests_nor_expiry_mails(full_admin, mailoutbox):
    robot = service_account_create(
        tenant=full_admin.tenant, name="robot", role=Role.FULL_ADMIN, sponsor=full_admin
    ).user
    soon = token_issue(owner=robot, name="Soon", expires_at=timezone.now() + timedelta(hours=12))
    old = token_issue(owner=full_admin, name="Old").token
    long_ago = timezone.now() - timedelta(days=100)
    Token.objects.filter(pk__in=[soon.token.pk, old.pk]).update(created_at=long_ago)
    send_notifications()
    assert mailoutbox and all(m.to == ["admin@contoso.test"] for m in mailoutbox)


# --- Who owns a token, as people and the API read it --------------------------------------

OVERVIEW = "/settings/security-extensions/api-usage/"
NAMED = (
    '<span class="owner">ci-deploy</span> <span class="badge badge-service">Service account</span>'
)


def test_the_usage_overview_names_the_account_never_its_placeholder_address(
    signed_in, full_admin, account, account_secret
):
    token = Token.objects.get(owner=account.user)
    now = timezone.now()
    TokenUsage.objects.create(token=token, day=now.date(), requests=5, refused=2)
    TokenNetwork.objects.create(
        token=token, network="203.0.113.0/24", first_seen_at=now, last_seen_at=now, flagged_at=now
    )
    with CaptureQueriesContext(connection) as queries:
        html = signed_in(full_admin).get(OVERVIEW).content.decode()
    assert html.count(NAMED) == 3  # busiest, refused, new networks
    assert "service-account.invalid" not in html
    assert not [q for q in queries if 'FROM "tenants_serviceaccount"' in q["sql"]]


def test_the_token_page_and_its_confirmations_name_the_account(
    signed_in, full_admin, account, account_secret
):
    token = Token.objects.get(owner=account.user)
    client = signed_in(full_admin)
    for url in (f"{TOKENS_PAGE}{token.pk}/", f"{TOKENS_PAGE}{token.pk}/revoke/"):
        html = client.get(url).content.decode()
        assert f"generated by {NAMED}" in html and "service-account.invalid" not in html


def test_the_audit_log_names_the_account_as_actor_and_as_user(
    signed_in, full_admin, account, account_secret
):
    with CaptureQueriesContext(connection) as queries:
        html = signed_in(full_admin).get("/settings/audit-log/").content.decode()
    assert '<td data-label="By" class="email">' + NAMED in html  # it generated its token
    assert '<td data-label="User" class="email">' + NAMED in html
    assert "service-account.invalid" not in html
    assert not [q for q in queries if q["sql"].startswith('SELECT "tenants_serviceaccount"')]


def test_the_policy_preview_names_the_account(signed_in, full_admin, account, account_secret):
    preview = signed_in(full_admin).post(
        f"{TOKENS_PAGE}policy/", {"token_max_lifetime_days": "30", "token_networks": ""}
    )
    html = preview.content.decode()
    assert "Before you save" in html and NAMED in html
    assert "service-account.invalid" not in html


def test_the_api_names_the_account_beside_its_placeholder_owner(
    issue, full_admin, account, account_secret
):
    body = api_client(account_secret).get(ME.replace("me", "tokens")).json()
    [item] = body["results"]
    assert item["service_account"] == "ci-deploy"
    assert item["owner"] == "ci-deploy@service-account.invalid"  # kept: the contract names it
    _, admin_secret = issue(full_admin)
    mine = api_client(admin_secret).get(f"/api/v1/tokens/{Token.objects.get(owner=full_admin).pk}/")
    assert mine.json()["service_account"] is None


def test_the_token_listing_loads_every_account_in_its_one_query(issue, full_admin, account):
    _, admin_secret = issue(full_admin)
    client = api_client(admin_secret)

    def queries_listing():
        client.get("/api/v1/tokens/")  # the count, cached after each write, is not the rows
        with CaptureQueriesContext(connection) as queries:
            body = client.get("/api/v1/tokens/").json()
        assert {r["service_account"] for r in body["results"]} >= {"ci-deploy"}
        return len(queries)

    token_issue(owner=account.user, name="first")
    one = queries_listing()
    for n in range(5):
        other = service_account_create(
            tenant=full_admin.tenant, name=f"robot-{n}", role=Role.SECURITY_READER,
            sponsor=full_admin,
        )  # fmt: skip
        token_issue(owner=other.user, name=f"robot {n}")
    assert queries_listing() == one


def test_sweeptokens_names_the_account_of_a_token_it_revokes(account):
    expired = timezone.now() - timedelta(hours=1)
    token_issue(owner=account.user, name="Old deploys", expires_at=expired)
    out = run("sweeptokens")
    assert "“Old deploys” of service account ci-deploy (expired)" in out
    assert "service-account.invalid" not in out
