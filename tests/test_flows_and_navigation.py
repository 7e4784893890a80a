"""Issue 20, flows and navigation: the token page's confirmations, rotation's stated expiry,
the policy preview, the Settings and Help menus per role, and the help pages."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from tests.factories import TokenFactory, UserFactory
from tokens.auth import DeprovisionedOwner, NotAllowedFrom, ReadOnlyToken
from tokens.models import Token

TOKENS = "/settings/security-extensions/api-tokens/"
POLICY = TOKENS + "policy/"
ROTATE_HELP = "Only a token’s owner can rotate it"


def menu(html):
    """The Settings menu's entries: (href, label)."""
    settings = html.split("<summary>Settings</summary>", 1)[1].split("</details>", 1)[0]
    return re.findall(r'<a href="([^"]+)">([^<]+)</a>', settings)


def help_menu(html):
    part = html.split('aria-label="Help"', 1)[1].split("</details>", 1)[0]
    return re.findall(r'<a href="([^"]+)">([^<]+)</a>', part)


# --- Token page: the same confirmations as the list -------------------------------------


def test_the_token_page_confirms_revoke_and_rotate_in_the_lists_dialogs(signed_in, operator):
    token = TokenFactory(owner=operator, name="Nightly")
    html = signed_in(operator).get(f"{TOKENS}{token.pk}/").content.decode()
    assert 'data-confirm="revoke-dialog"' in html and 'data-confirm="rotate-dialog"' in html
    assert '<dialog id="revoke-dialog"' in html and '<dialog id="rotate-dialog"' in html
    # Without JavaScript the buttons still lead to the plain confirmation pages.
    assert f'action="{TOKENS}{token.pk}/revoke/"' in html
    assert f'action="{TOKENS}{token.pk}/rotate/"' in html
    assert ROTATE_HELP not in html


def test_the_token_page_explains_why_there_is_no_rotate(signed_in, full_admin, operator):
    token = TokenFactory(owner=operator)
    html = signed_in(full_admin).get(f"{TOKENS}{token.pk}/").content.decode()
    assert 'data-confirm="rotate-dialog"' not in html
    assert ROTATE_HELP in html


def test_the_list_explains_rotate_once_when_a_token_cannot_be_rotated(signed_in, full_admin):
    TokenFactory(owner=full_admin)
    TokenFactory(owner=UserFactory(tenant=full_admin.tenant))
    TokenFactory(owner=UserFactory(tenant=full_admin.tenant))
    html = signed_in(full_admin).get(TOKENS).content.decode()
    assert html.count(ROTATE_HELP) == 1


def test_the_list_says_nothing_about_rotate_when_every_token_is_ones_own(signed_in, operator):
    TokenFactory(owner=operator)
    html = signed_in(operator).get(TOKENS).content.decode()
    assert ROTATE_HELP not in html


# --- Rotation states the new expiry ----------------------------------------------------


def test_rotating_an_expired_token_says_it_is_revived_and_until_when(signed_in, operator):
    now = timezone.now()
    token = TokenFactory(
        owner=operator,
        created_at=now - timedelta(days=40),
        expires_at=now - timedelta(days=10),
    )
    until = (now + timedelta(days=30)).strftime("%Y-%m-%d")
    client = signed_in(operator)
    page = client.get(f"{TOKENS}{token.pk}/rotate/").content.decode()
    assert "rotating revives it until" in page and until in page
    assert "(30 days from now)" in page
    listing = client.get(f"{TOKENS}?status=expired").content.decode()
    assert f"rotating revives it until {until}" in listing  # the list's dialog reads it
    detail = client.get(f"{TOKENS}{token.pk}/").content.decode()
    assert f"rotating revives it until {until}" in detail


def test_rotating_states_the_expiry_of_the_new_value(signed_in, operator):
    never = TokenFactory(owner=operator, name="Forever")
    html = signed_in(operator).get(f"{TOKENS}{never.pk}/rotate/").content.decode()
    assert "The new value never expires." in html
    assert "revives" not in html


def test_rotating_under_a_max_lifetime_says_so(signed_in, operator, tenant):
    tenant.token_max_lifetime_days = 30
    tenant.save()
    token = TokenFactory(owner=operator)
    html = signed_in(operator).get(f"{TOKENS}{token.pk}/rotate/").content.decode()
    assert "(30 days from now)" in html and "at most 30 days" in html


# --- Token policy: a preview before saving ---------------------------------------------


def old_unused(owner, name, days=100):
    return TokenFactory(owner=owner, name=name, created_at=timezone.now() - timedelta(days=days))


def test_the_policy_previews_the_tokens_it_revokes_and_flags_before_saving(
    signed_in, full_admin, operator, tenant
):
    for n in range(12):
        old_unused(operator, f"Stale {n:02}")
    TokenFactory(owner=operator, name="Fresh", last_used_at=timezone.now())
    client = signed_in(full_admin)
    values = {"token_inactive_revoke_days": "60", "token_max_lifetime_days": "365"}
    response = client.post(POLICY, values)
    assert response.status_code == 200
    html = response.content.decode()
    assert "12 tokens</strong> unused for over 60 days will be revoked" in html
    assert "13 API tokens</strong> may live longer than 365 days" in html
    assert "Stale 00" in html and "Stale 09" in html and "Stale 10" not in html
    assert "The first 10 of 12 are listed." in html
    tenant.refresh_from_db()
    assert tenant.token_inactive_revoke_days is None  # not saved yet

    previewed = re.search(r'name="previewed" value="([^"]+)"', html).group(1)
    response = client.post(POLICY, {**values, "previewed": previewed})
    assert response.status_code == 302
    tenant.refresh_from_db()
    assert tenant.token_inactive_revoke_days == 60 and tenant.token_max_lifetime_days == 365
    assert Token.objects.live().count() == 13  # the sweep revokes, not the save


def test_the_policy_previews_the_suspended_tokens_it_revokes(
    signed_in, full_admin, operator, tenant
):
    from tokens.services import token_suspend

    long_ago = TokenFactory(owner=operator, name="Paused long ago", last_used_at=timezone.now())
    TokenFactory(owner=operator, name="Paused today", last_used_at=timezone.now())
    for token in Token.objects.all():
        token_suspend(token=token, by=full_admin)
    Token.objects.filter(pk=long_ago.pk).update(suspended_at=timezone.now() - timedelta(days=20))
    client = signed_in(full_admin)
    html = client.post(POLICY, {"token_suspension_revoke_days": "14"}).content.decode()
    assert "1 token</strong> suspended for over 14 days will be revoked" in html
    assert "Paused long ago" in html and "Paused today" not in html
    previewed = re.search(r'name="previewed" value="([^"]+)"', html).group(1)
    client.post(POLICY, {"token_suspension_revoke_days": "14", "previewed": previewed})
    tenant.refresh_from_db()
    assert tenant.token_suspension_revoke_days == 14
    [event] = AuditEvent.objects.filter(action="tenant.policy_changed")
    assert "revoke after 14 days suspended" in event.detail.lower()


def test_a_confirmation_of_another_policy_shows_the_preview_again(signed_in, full_admin, tenant):
    old_unused(full_admin, "Stale")
    client = signed_in(full_admin)
    html = client.post(POLICY, {"token_inactive_revoke_days": "60"}).content.decode()
    previewed = re.search(r'name="previewed" value="([^"]+)"', html).group(1)
    response = client.post(POLICY, {"token_inactive_revoke_days": "30", "previewed": previewed})
    assert response.status_code == 200
    assert "unused for over 30 days" in response.content.decode()
    tenant.refresh_from_db()
    assert tenant.token_inactive_revoke_days is None


def test_a_policy_that_affects_no_token_saves_at_once(signed_in, full_admin, tenant):
    TokenFactory(owner=full_admin, last_used_at=timezone.now())
    response = signed_in(full_admin).post(POLICY, {"token_inactive_revoke_days": "60"})
    assert response.status_code == 302
    tenant.refresh_from_db()
    assert tenant.token_inactive_revoke_days == 60


def test_the_policy_help_speaks_of_the_daily_revocation_not_a_command(signed_in, full_admin):
    html = signed_in(full_admin).get(POLICY).content.decode()
    assert "Tokens unused for this many days are revoked automatically once a day" in html
    assert "manage.py" not in html and "sweeptokens" not in html


# --- Menus per role --------------------------------------------------------------------


def test_full_admins_find_siem_agents_and_log_collectors_in_settings(signed_in, full_admin):
    entries = menu(signed_in(full_admin).get("/about/").content.decode())
    assert entries[:3] == [
        ("/settings/security-extensions/", "Security extensions"),
        (TOKENS, "API tokens"),
        ("/settings/security-extensions/api-usage/", "API usage"),
    ]
    assert ("/settings/security-extensions/siem-agents/", "SIEM agents") in entries
    assert ("/settings/log-collectors/", "Log collectors") in entries


@pytest.mark.parametrize("persona", ["operator", "reader"])
def test_readers_and_operators_find_security_extensions_and_api_tokens_in_settings(
    request, signed_in, persona
):
    client = signed_in(request.getfixturevalue(persona))
    entries = menu(client.get("/about/").content.decode())
    assert entries == [
        ("/settings/security-extensions/", "Security extensions"),
        (TOKENS, "API tokens"),
    ]


@pytest.mark.parametrize("persona", ["operator", "reader"])
def test_the_tokens_pages_breadcrumb_leads_to_security_extensions_not_back_to_itself(
    request, signed_in, persona
):
    client = signed_in(request.getfixturevalue(persona))
    html = client.get(TOKENS).content.decode()
    crumb = '<li><a href="/settings/security-extensions/">Security extensions</a></li>'
    assert crumb in html.split('aria-label="Breadcrumb"', 1)[1].split("</nav>", 1)[0]
    response = client.get("/settings/security-extensions/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Security extensions</h1>" in page
    assert f'<h2><a href="{TOKENS}">API tokens</a></h2>' in page
    assert "SIEM agents</a></h2>" not in page and "API usage</a></h2>" not in page


@pytest.mark.parametrize("persona", ["full_admin", "operator", "reader"])
def test_help_holds_about_using_tokens_and_the_api_reference(request, signed_in, persona):
    html = signed_in(request.getfixturevalue(persona)).get("/about/").content.decode()
    assert help_menu(html) == [
        ("/about/", "About"),
        ("/help/using-tokens/", "Using tokens"),
        ("/help/api/", "API reference"),
    ]


def test_the_tenant_name_is_in_the_top_bar_with_its_full_name_on_hover(signed_in, reader, tenant):
    html = signed_in(reader).get("/about/").content.decode()
    assert f'<span class="tenant-name" title="Tenant: {tenant.name}">{tenant.name}</span>' in html


# --- Help pages ------------------------------------------------------------------------


def test_the_api_reference_renders_every_operation_of_the_openapi_document(
    signed_in, reader, issue
):
    from tests.api import api_client

    _token, secret = issue(reader)
    document = api_client(secret).get("/api/v1/openapi.json").json()
    html = signed_in(reader).get("/help/api/").content.decode()
    for path, item in document["paths"].items():
        for method in ("get", "post", "put", "patch", "delete"):
            if method in item:
                assert f"<code>{method.upper()} {path}</code>" in html
    assert '<code class="literal">status</code>' in html  # a parameter of the list
    statuses = ("all", "active", "inactive", "generated", "suspended", "expired")
    listed = ", ".join(f'<code class="literal">{status}</code>' for status in statuses)
    assert f"string, one of: {listed}, (empty)" in html
    assert "TokenPage" in html and "<code>401</code>" in html and "<code>429</code>" in html
    assert "LeakReport" in html and '<code class="literal">token</code>' in html  # body fields
    assert "<script" not in html.split("</head>", 1)[1]


def test_the_api_reference_shows_the_documents_inline_code_as_code_not_backticks(signed_in, reader):
    html = signed_in(reader).get("/help/api/").content.decode()
    assert "`" not in html
    # "Empty is the same as `all`." and the sort values, each kept whole by code.literal.
    assert 'Empty is the same as <code class="literal">all</code>.' in html
    assert '<code class="literal">-created_at</code>' in html
    assert "<code>Authorization: Token &lt;token&gt;</code>" in html  # with spaces: may wrap


def test_the_api_reference_says_a_call_from_outside_the_allowed_networks_gets_403(
    signed_in, reader
):
    html = signed_in(reader).get("/help/api/").content.decode()
    me = html.split('id="me"', 1)[1].split("</section>", 1)[0]
    assert "the call came from outside the token&#x27;s allowed networks" in me


def test_using_tokens_says_why_a_valid_token_is_refused(signed_in, reader):
    html = signed_in(reader).get("/help/using-tokens/").content.decode()
    refused = html.split('id="errors-title"', 1)[1].split("</section>", 1)[0]
    assert "read-only token" in refused and ReadOnlyToken().detail in refused  # the API's words
    assert "allowed networks" in refused
    assert NotAllowedFrom(None, "203.0.113.7").detail in refused
    assert "deprovisioned" in refused and DeprovisionedOwner(None).detail in refused


def test_using_tokens_explains_the_header_the_url_the_errors_and_leaks(signed_in, reader, tenant):
    html = signed_in(reader).get("/help/using-tokens/").content.decode()
    assert "Authorization: Token &lt;your token&gt;" in html
    assert tenant.custom_url in html
    for status in ("401", "403", "429"):
        assert f"<code>{status}</code>" in html
    assert "Rotate" in html and "/api/v1/tokens/report-leak/" in html
