"""A service account's own page and the list that leads to it (CONTRACT §15, issue 28): its
facts, its tokens, a token generated for it and shown once, a new sponsor, a new role; every
form refuses bad input with the page again (400), never a 500."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEvent
from tenants.models import Role, ServiceAccount, User
from tenants.services import service_account_create, user_deprovision
from tests.api import api_client
from tests.factories import UserFactory
from tests.pages import revealed_value
from tokens.models import NAME_MAX_LENGTH, Token, TokenKind
from tokens.services import token_issue, token_revoke, token_rotate

LIST = "/settings/security-extensions/service-accounts/"
PAGE = f"{LIST}ci-deploy/"
ME = "/api/v1/me/"


@pytest.fixture
def account(full_admin):
    return service_account_create(
        tenant=full_admin.tenant,
        name="ci-deploy",
        role=Role.SECURITY_OPERATOR,
        sponsor=full_admin,
        description="Deploys from CI",
        by=full_admin,
    )


@pytest.fixture
def admin(signed_in, full_admin):
    return signed_in(full_admin)


@pytest.fixture
def other_sponsor(tenant):
    return UserFactory(tenant=tenant, role=Role.SECURITY_READER, email="dana@contoso.test")


POSTS = (
    ("tokens/new/", {"name": "x"}),
    ("sponsor/", {"sponsor": "1"}),
    ("role/", {"role": "full_admin"}),
)


# --- Who sees it -------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["operator", "reader"])
def test_only_full_admins_reach_the_account_page_and_its_forms(
    request, signed_in, account, persona
):
    client = signed_in(request.getfixturevalue(persona))
    assert client.get(PAGE).status_code == 404
    for path, form in POSTS:
        assert client.post(PAGE + path, form).status_code == 404
    assert not Token.objects.exists()
    account.user.refresh_from_db()
    assert account.user.role == Role.SECURITY_OPERATOR


def test_another_tenants_account_is_404_on_every_url(signed_in, account, other_tenant_admin):
    client = signed_in(other_tenant_admin)
    assert client.get(PAGE).status_code == 404
    for path, form in POSTS:
        assert client.post(PAGE + path, form).status_code == 404
    assert not Token.objects.exists()


@pytest.mark.parametrize("name", ["nope", "CI-DEPLOY", "ci_deploy"])
def test_an_unknown_name_is_404(admin, account, name):
    assert admin.get(f"{LIST}{name}/").status_code == 404
    assert admin.post(f"{LIST}{name}/role/", {"role": "full_admin"}).status_code == 404


@pytest.mark.parametrize(("path", "form"), POSTS)
def test_every_form_needs_a_csrf_token(full_admin, account, path, form):
    client = Client(HTTP_HOST=full_admin.tenant.host, enforce_csrf_checks=True)
    client.force_login(full_admin)
    assert client.post(PAGE + path, form).status_code == 403
    assert not Token.objects.exists()


def test_the_forms_take_posts_only(admin, account):
    for path, _form in POSTS:
        assert admin.get(PAGE + path).status_code == 405


# --- What it shows -----------------------------------------------------------------------------


def test_the_page_shows_the_accounts_facts(admin, account):
    html = admin.get(PAGE).content.decode()
    here = '<li aria-current="page">ci-<wbr>deploy</li>'
    crumbs = f'<li><a href="{LIST}">Service accounts</a></li>{here}'
    assert crumbs in html
    assert "<h1>ci-<wbr>deploy</h1>" in html and "Deploys from CI" in html
    assert "<dt>Role</dt><dd>Security operator" in html
    assert '<dt>Sponsor</dt><dd><span class="owner">admin@<wbr>contoso.test</span></dd>' in html
    created = html.split("<dt>Created</dt><dd>", 1)[1].split("</dd>", 1)[0]
    assert f'datetime="{account.created_at.isoformat()}"' in created and "UTC" in created
    assert "No sponsor" not in html


def test_the_page_lists_the_live_tokens_with_links_status_and_dates(admin, account, full_admin):
    used = token_issue(owner=account.user, name="Deploys").token
    Token.objects.filter(pk=used.pk).update(last_used_at=timezone.now())
    token_issue(owner=account.user, name="Fresh")
    gone = token_issue(owner=account.user, name="Gone").token
    token_revoke(token=gone, by=full_admin)
    token_issue(owner=full_admin, name="Not its own")
    html = admin.get(PAGE).content.decode()
    assert f'<a class="token-name" href="/settings/security-extensions/api-tokens/{used.pk}/"' in (
        html
    )
    assert '<span class="badge badge-active">Active</span>' in html
    assert '<span class="badge badge-generated">Generated</span>' in html
    assert "Fresh" in html and "Gone" not in html and "Not its own" not in html
    assert html.count('data-label="Generated"') == 2 and html.count('data-label="Last used"') == 2


def test_a_rotating_token_says_until_when_its_old_secret_works(admin, account):
    token = token_issue(owner=account.user, name="Deploys").token
    token_rotate(token=token, by=account.sponsor, overlap=timedelta(hours=24))
    html = admin.get(PAGE).content.decode()
    assert "Rotating — old secret valid until" in html and "its successor’s first use" in html


def test_without_tokens_the_page_says_how_to_get_one(admin, account):
    html = admin.get(PAGE).content.decode()
    assert "No tokens yet. Generate one below" in html and "<table" not in html


def test_the_pages_queries_do_not_grow_with_its_tokens(admin, account):
    token_issue(owner=account.user, name="One")
    with CaptureQueriesContext(connection) as one:
        admin.get(PAGE)
    for n in range(5):
        token_issue(owner=account.user, name=f"More {n}")
    with CaptureQueriesContext(connection) as six:
        assert admin.get(PAGE).content.decode().count('class="token-name"') == 6
    assert len(six) == len(one)


def test_the_no_sponsor_flag_says_since_when_and_when_the_tokens_stop(
    signed_in, full_admin, operator, account
):
    operator.role = Role.FULL_ADMIN
    operator.save()
    client = signed_in(operator)
    user_deprovision(user=full_admin)
    ends = account.tenant.service_account_sponsor_grace_days
    html = client.get(PAGE).content.decode()
    assert "<strong>No sponsor</strong> since" in html
    assert "admin@<wbr>contoso.test was deprovisioned" in html
    assert "Its tokens will be refused from" in html and f"(in {ends} days)" in html
    # A month on, as the flag would read then (a session would not last that long).
    since = timezone.now() - timedelta(days=ends + 1)
    User.objects.filter(pk=account.pk).update(sponsor_missing_since=since)
    html = client.get(PAGE).content.decode()
    assert "Its tokens are refused since" in html and "(1 day ago)" in html


# --- Generate token ----------------------------------------------------------------------------


def test_a_full_admin_generates_a_token_the_account_owns_and_sees_it_once(
    admin, full_admin, account
):
    response = admin.post(f"{PAGE}tokens/new/", {"name": "Deploys", "expiry": "30"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secret = revealed_value(response)
    token = Token.objects.get()
    assert token.owner == account.user and token.kind == TokenKind.API and token.expires_at
    assert 'data-copy-target="token-value"' in response.text
    assert "This token will not be shown again." in response.text
    assert f'data-list-url="{PAGE}"' in response.text
    event = AuditEvent.objects.get(action="token.generated")
    assert event.actor == full_admin and event.subject == account.user and event.via == "page"
    assert api_client(secret).get(ME).json()["user"]["email"] == account.user.email
    assert secret not in admin.get(PAGE).content.decode()


def test_a_reader_accounts_tokens_are_read_only(admin, full_admin):
    service_account_create(
        tenant=full_admin.tenant, name="reports", role=Role.SECURITY_READER, sponsor=full_admin
    )
    page = admin.get(f"{LIST}reports/").content.decode()
    assert "reports reads only, so its tokens are read only." in page
    admin.post(f"{LIST}reports/tokens/new/", {"name": "Nightly", "read_only": ""})
    assert Token.objects.get().is_read_only


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({}, "Enter a name for the token"),
        ({"name": ""}, "Enter a name for the token"),
        ({"name": "   "}, "Enter a name for the token"),
        ({"name": "x" * (NAME_MAX_LENGTH + 1)}, "Use at most 100 characters"),
        ({"name": "ok", "expiry": "forever"}, "Select a valid choice"),
        ({"name": "ok", "expiry": "custom", "expiry_date": "2020-13-45"}, "Enter a date"),
        ({"name": "ok", "allowed_networks": "not a network"}, "not a network"),
    ],
)
def test_bad_token_input_shows_the_form_again_and_issues_nothing(admin, account, form, error):
    response = admin.post(f"{PAGE}tokens/new/", form)
    assert response.status_code == 400
    assert 'class="field-error"' in response.text and error in response.text
    assert "token-value" not in response.text
    assert not Token.objects.exists()


# --- Change sponsor ----------------------------------------------------------------------------


def test_a_full_admin_names_a_new_sponsor_on_the_page(admin, account, other_sponsor):
    response = admin.post(f"{PAGE}sponsor/", {"sponsor": str(other_sponsor.pk)})
    assert response.status_code == 302 and response["Location"] == PAGE
    account.refresh_from_db()
    assert account.sponsor == other_sponsor
    html = admin.get(PAGE).content.decode()
    assert "dana@contoso.test now sponsors ci-deploy." in html
    assert f'<option value="{other_sponsor.pk}" selected>dana@contoso.test</option>' in html


def test_naming_the_same_sponsor_changes_nothing_and_says_so(admin, full_admin, account):
    response = admin.post(f"{PAGE}sponsor/", {"sponsor": str(full_admin.pk)}, follow=True)
    assert "admin@contoso.test already sponsors ci-deploy." in response.text
    assert not AuditEvent.objects.filter(action="service_account.sponsor_changed").exists()


@pytest.mark.parametrize(
    "who", ["missing", "empty", "text", "unknown", "deprovisioned", "robot", "outsider"]
)
def test_a_bad_sponsor_shows_the_form_again_and_changes_nothing(
    admin, full_admin, account, other_tenant_admin, who
):
    former = UserFactory(tenant=full_admin.tenant, email="former@contoso.test")
    former.deprovision()
    sent = {
        "missing": {},
        "empty": {"sponsor": ""},
        "text": {"sponsor": "admin@contoso.test"},
        "unknown": {"sponsor": "987654"},
        "deprovisioned": {"sponsor": str(former.pk)},
        "robot": {"sponsor": str(account.pk)},
        "outsider": {"sponsor": str(other_tenant_admin.pk)},
    }[who]
    response = admin.post(f"{PAGE}sponsor/", sent)
    assert response.status_code == 400
    errors = response.text.split('id="id_sponsor_error"', 1)[1].split("</div>", 1)[0]
    assert "Choose" in errors
    account.refresh_from_db()
    assert account.sponsor == full_admin
    assert not AuditEvent.objects.filter(action="service_account.sponsor_changed").exists()


def test_a_new_sponsor_clears_the_flag_on_the_page_and_the_list(
    signed_in, full_admin, operator, account, other_sponsor
):
    operator.role = Role.FULL_ADMIN
    operator.save()
    client = signed_in(operator)
    user_deprovision(user=full_admin)
    flag = '<span class="badge badge-warning">No sponsor</span>'
    assert flag in client.get(LIST).content.decode() and flag in client.get(PAGE).text
    client.post(f"{PAGE}sponsor/", {"sponsor": str(other_sponsor.pk)})
    assert "No sponsor" not in client.get(PAGE).content.decode()
    assert flag not in client.get(LIST).content.decode()


# --- Change role -------------------------------------------------------------------------------


def test_a_full_admin_changes_the_role_audited_and_at_the_next_call(
    admin, full_admin, account, caching
):
    secret = token_issue(owner=account.user, name="Deploys").secret
    token = Token.objects.get()
    assert api_client(secret).get(ME).json()["user"]["role"] == "security_operator"
    response = admin.post(f"{PAGE}role/", {"role": "security_reader"})
    assert response.status_code == 302 and response["Location"] == PAGE
    html = admin.get(PAGE).content.decode()
    assert "ci-deploy is now Security reader: its tokens act as Security reader" in html
    assert '<option value="security_reader" selected>' in html
    event = AuditEvent.objects.get(action="user.role_changed")
    assert event.actor == full_admin and event.subject == account.user and event.via == "page"
    assert event.detail == "Security operator → Security reader."
    assert api_client(secret).delete(f"/api/v1/tokens/{token.pk}/").status_code == 403


def test_the_same_role_changes_nothing_and_says_so(admin, account):
    response = admin.post(f"{PAGE}role/", {"role": "security_operator"}, follow=True)
    assert "ci-deploy already is Security operator." in response.text
    assert not AuditEvent.objects.filter(action="user.role_changed").exists()


@pytest.mark.parametrize(
    "sent", [{}, {"role": ""}, {"role": "boss"}, {"role": "FULL_ADMIN"}, {"role": "x" * 5000}]
)
def test_a_bad_role_shows_the_form_again_and_changes_nothing(admin, account, sent):
    response = admin.post(f"{PAGE}role/", sent)
    assert response.status_code == 400
    errors = response.text.split('id="id_role_error"', 1)[1].split("</div>", 1)[0]
    assert "Choose" in errors
    account.user.refresh_from_db()
    assert account.user.role == Role.SECURITY_OPERATOR


# --- The list ----------------------------------------------------------------------------------


def test_each_name_on_the_list_leads_to_its_page_and_counts_its_live_tokens(
    admin, full_admin, account
):
    token_issue(owner=account.user, name="One")
    token_issue(owner=account.user, name="Two")
    token_revoke(token=token_issue(owner=account.user, name="Gone").token, by=full_admin)
    token_issue(owner=full_admin, name="Someone else's")
    html = admin.get(LIST).content.decode()
    assert f'<a class="token-name" href="{PAGE}">ci-<wbr>deploy</a>' in html
    assert '<th scope="col">Tokens</th>' in html and '<td data-label="Tokens">2</td>' in html


def test_the_list_is_by_name(admin, full_admin, account):
    for name in ("zeta", "alpha"):
        service_account_create(
            tenant=full_admin.tenant, name=name, role=Role.SECURITY_READER, sponsor=full_admin
        )
    html = admin.get(LIST).content.decode()
    assert html.index(f'href="{LIST}alpha/"') < html.index(PAGE) < html.index(f'href="{LIST}zeta/"')


def test_the_lists_queries_do_not_grow_with_its_rows(admin, full_admin, account):
    token_issue(owner=account.user, name="One")
    with CaptureQueriesContext(connection) as one:
        admin.get(LIST)
    for n in range(4):
        more = service_account_create(
            tenant=full_admin.tenant,
            name=f"more-{n}",
            role=Role.SECURITY_READER,
            sponsor=full_admin,
        )
        token_issue(owner=more.user, name="Its token")
    # Flagged rows too: the flag reads the account's user, joined in the same query.
    flagged = ServiceAccount.objects.filter(name__in=["more-0", "more-1"]).values("user")
    User.objects.filter(pk__in=flagged).update(sponsor_missing_since=timezone.now())
    with CaptureQueriesContext(connection) as five:
        html = admin.get(LIST).content.decode()
    assert (
        html.count('<td data-label="Tokens">1</td>') == 5
        and html.count('badge-warning">No sponsor<') == 2
    )
    assert len(five) == len(one)


def test_the_lists_empty_state_says_to_create_one_then_generate_its_tokens(admin):
    html = admin.get(LIST).content.decode()
    assert "No service accounts yet" in html
    assert "Create one below, then open its page to generate its tokens." in html
    assert "manage.py" not in html


@pytest.mark.parametrize(
    ("path", "form", "undone"),
    [
        ("tokens/new/", {"name": "x"}, "no token was generated"),
        ("sponsor/", {"sponsor": "1"}, "the sponsor was not changed"),
        ("role/", {"role": "full_admin"}, "the role was not changed"),
    ],
)
def test_a_form_sent_after_the_session_ended_says_what_was_not_done(
    tenant, account, path, form, undone
):
    client = Client(HTTP_HOST=tenant.host)
    response = client.post(PAGE + path, form, HTTP_REFERER=f"http://{tenant.host}{PAGE}")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert f"Your session expired, so {undone}." in client.get(response["Location"]).text
    assert not Token.objects.exists()
