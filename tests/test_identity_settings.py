"""Settings › Identity: single sign-on, provisioning tokens and role mapping (full admins)."""

from html import unescape

import pytest

from audit.models import AuditEvent
from identity.models import IdentitySettings
from tests.api import api_client
from tests.pages import GOOD_SSO, revealed_value
from tokens import crypto
from tokens.models import Token, TokenKind

PAGE = "/settings/identity/"
MAPPING = "/settings/identity/role-mapping/"
TOKENS = "/settings/identity/tokens/new/"
GOOD_MAPPING = {
    "role_source": "roles",
    "full_admin_values": "Portal Admins",
    "security_operator_values": "Operators, SOC",
    "security_reader_values": "",
    "default_role": "security_reader",
}


def test_full_admins_find_identity_in_the_settings_menu(signed_in, full_admin, operator):
    assert 'href="/settings/identity/">Identity</a>' in signed_in(full_admin).get("/about/").text
    assert 'href="/settings/identity/"' not in signed_in(operator).get("/about/").text


@pytest.mark.parametrize("persona", ["operator", "reader"])
def test_others_get_404_everywhere(request, signed_in, full_admin, issue, persona):
    token, _ = issue(full_admin, kind=TokenKind.PROVISIONING)
    client = signed_in(request.getfixturevalue(persona))
    for path in (PAGE, MAPPING, TOKENS, f"{PAGE}tokens/{token.pk}/revoke/"):
        assert client.get(path).status_code in (404, 405)
        assert client.post(path, GOOD_SSO).status_code == 404
    assert not IdentitySettings.objects.exists()
    assert Token.objects.get().revoked_at is None


def test_saving_sso_is_audited_and_the_secret_never_shows(signed_in, full_admin):
    client = signed_in(full_admin)
    response = client.post(PAGE, GOOD_SSO)
    assert response.status_code == 302
    identity = IdentitySettings.objects.get()
    assert identity.sso_ready and identity.client_secret == "a-very-secret-value"
    page = client.get(PAGE).text
    assert "a-very-secret-value" not in page and "Set. Leave empty to keep it" in page
    event = AuditEvent.objects.get(action="tenant.identity_changed")
    assert "client secret replaced" in event.detail and "a-very-secret-value" not in event.detail
    assert "http://contoso.us.portal.localhost/login/sso/callback/" in page


def test_an_empty_secret_keeps_the_stored_one(signed_in, full_admin):
    client = signed_in(full_admin)
    client.post(PAGE, GOOD_SSO)
    client.post(PAGE, {**GOOD_SSO, "client_secret": "", "provider_name": "Okta EU"})
    identity = IdentitySettings.objects.get()
    assert identity.client_secret == "a-very-secret-value" and identity.provider_name == "Okta EU"


@pytest.mark.parametrize(
    "changes", [{"issuer": "https://evil.example"}, {"client_id": "another-client"}]
)
def test_a_new_issuer_or_client_id_needs_the_secret_typed_again(signed_in, full_admin, changes):
    """The stored secret belongs to one client at one issuer: it is never sent anywhere else."""
    client = signed_in(full_admin)
    client.post(PAGE, GOOD_SSO)
    response = client.post(PAGE, {**GOOD_SSO, "client_secret": "", **changes})
    assert response.status_code == 400
    assert "Type the client secret again" in response.text
    identity = IdentitySettings.objects.get()
    assert identity.issuer == GOOD_SSO["issuer"] and identity.client_id == GOOD_SSO["client_id"]
    assert identity.client_secret == "a-very-secret-value"


@pytest.mark.parametrize(
    "changes", [{"issuer": "https://evil.example"}, {"client_id": "another-client"}]
)
def test_a_new_issuer_or_client_id_forgets_the_stored_secret(signed_in, full_admin, changes):
    client = signed_in(full_admin)
    client.post(PAGE, GOOD_SSO)
    off = {**GOOD_SSO, "sso_enabled": "", "client_secret": "", **changes}
    assert client.post(PAGE, off).status_code == 302
    identity = IdentitySettings.objects.get()
    assert identity.client_secret == "" and not identity.sso_ready
    assert "Not set." in client.get(PAGE).text
    event = AuditEvent.objects.filter(action="tenant.identity_changed").latest("id")
    assert "client secret cleared" in event.detail
    # Turning single sign-on on again needs the secret for the new issuer or client.
    response = client.post(PAGE, {**off, "sso_enabled": "on"})
    assert response.status_code == 400 and "Enter the client secret." in response.text


def test_a_new_issuer_with_its_secret_is_saved(signed_in, full_admin):
    client = signed_in(full_admin)
    client.post(PAGE, GOOD_SSO)
    new = {**GOOD_SSO, "issuer": "https://idp.example", "client_secret": "the-new-secret"}
    assert client.post(PAGE, new).status_code == 302
    identity = IdentitySettings.objects.get()
    assert identity.issuer == "https://idp.example" and identity.client_secret == "the-new-secret"


def test_the_secret_is_not_set_until_given(signed_in, full_admin):
    assert "Not set." in signed_in(full_admin).get(PAGE).text


def test_saving_nothing_new_records_nothing(signed_in, full_admin):
    client = signed_in(full_admin)
    client.post(PAGE, GOOD_SSO)
    client.post(PAGE, {**GOOD_SSO, "client_secret": ""})
    assert AuditEvent.objects.filter(action="tenant.identity_changed").count() == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"issuer": "not a url"}, "Enter the issuer as a URL"),
        ({"issuer": "ftp://idp.example"}, "must use https"),
        ({"issuer": "http://idp.example"}, "must use https"),
        ({"issuer": "https://idp.example/?tenant=1"}, "query or a fragment"),
        ({"issuer": "https://" + "a" * 300 + ".example"}, "at most 300 characters"),
        ({"issuer": ""}, "Enter the issuer URL."),
        ({"provider_name": ""}, "Enter the provider&#x27;s name"),
        ({"provider_name": "Okta\u200b"}, "visible characters only"),
        ({"provider_name": "x" * 61}, "at most 60 characters"),
        ({"client_id": ""}, "Enter the client ID"),
        ({"client_id": "has space"}, "no spaces or special characters"),
        ({"client_id": "x" * 301}, "at most 300 characters"),
        ({"client_secret": ""}, "Enter the client secret."),
        ({"client_secret": "tab\tinside"}, "no spaces or special characters"),
        ({"client_secret": "x" * 501}, "at most 500 characters"),
        ({"sso_enabled": "", "password_sign_in": ""}, "Keep password sign-in"),
    ],
)
def test_malformed_sso_settings_are_refused_with_a_clear_message(
    signed_in, full_admin, changes, message
):
    response = signed_in(full_admin).post(PAGE, {**GOOD_SSO, **changes})
    assert response.status_code == 400
    assert message in response.text
    assert not IdentitySettings.objects.exists()


def test_http_issuers_are_allowed_on_loopback_only(signed_in, full_admin):
    response = signed_in(full_admin).post(PAGE, {**GOOD_SSO, "issuer": "http://127.0.0.1:8401"})
    assert response.status_code == 302


def test_passwords_can_be_turned_off_once_sso_is_complete(signed_in, full_admin):
    response = signed_in(full_admin).post(PAGE, {**GOOD_SSO, "password_sign_in": ""})
    assert response.status_code == 302
    assert not IdentitySettings.objects.get().passwords_allowed


def test_the_role_mapping_is_saved_and_audited(signed_in, full_admin):
    response = signed_in(full_admin).post(MAPPING, GOOD_MAPPING)
    assert response.status_code == 302
    identity = IdentitySettings.objects.get()
    assert identity.full_admin_values == ["Portal Admins"]
    assert identity.security_operator_values == ["Operators", "SOC"]
    event = AuditEvent.objects.get(action="tenant.identity_changed")
    assert "values for full admin: Portal Admins" in event.detail


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"role_source": "groups"}, "Select a valid choice"),
        ({"default_role": "owner"}, "Select a valid choice"),
        ({"default_role": ""}, "This field is required"),
        ({"security_reader_values": "portal admins"}, "already listed for another role"),
        ({"full_admin_values": "x" * 101}, "at most 100 characters per value"),
        ({"full_admin_values": "Admins\u0007"}, "visible characters only"),
        ({"full_admin_values": ",".join(f"v{n}" for n in range(51))}, "at most 50 values"),
    ],
)
def test_malformed_role_mappings_are_refused_with_a_clear_message(
    signed_in, full_admin, changes, message
):
    response = signed_in(full_admin).post(MAPPING, {**GOOD_MAPPING, **changes})
    assert response.status_code == 400
    assert message in response.text
    assert not IdentitySettings.objects.exists()


def test_a_provisioning_token_is_revealed_once_and_works_only_for_scim(signed_in, full_admin):
    client = signed_in(full_admin)
    response = client.post(TOKENS, {"name": "Okta provisioning"})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    secret = revealed_value(response)
    token = Token.objects.get(digest=crypto.digest(secret))
    assert token.kind == TokenKind.PROVISIONING and token.owner == full_admin
    assert "scim/v2/Users" in response.text
    assert secret not in client.get(PAGE).text and "Okta provisioning" in client.get(PAGE).text
    assert api_client(secret).get("/scim/v2/Users").status_code == 200
    assert api_client(secret).get("/api/v1/me/").status_code == 403


def test_provisioning_tokens_stay_off_the_api_tokens_page(signed_in, full_admin):
    client = signed_in(full_admin)
    client.post(TOKENS, {"name": "Okta provisioning"})
    page = client.get("/settings/security-extensions/api-tokens/")
    assert page.context["page"].paginator.count == 0


@pytest.mark.parametrize(
    ("name", "message"),
    [("", "Enter a name for the token"), ("x" * 101, "at most 100 characters")],
)
def test_a_provisioning_token_needs_a_good_name(signed_in, full_admin, name, message):
    response = signed_in(full_admin).post(TOKENS, {"name": name})
    assert response.status_code == 400 and message in response.text
    assert not Token.objects.exists()


def test_revoking_a_provisioning_token_stops_it_at_once(signed_in, full_admin):
    client = signed_in(full_admin)
    secret = revealed_value(client.post(TOKENS, {"name": "Okta provisioning"}))
    token = Token.objects.get()
    assert "cannot be undone" in client.get(f"{PAGE}tokens/{token.pk}/revoke/").text
    assert client.post(f"{PAGE}tokens/{token.pk}/revoke/").status_code == 302
    assert api_client(secret).get("/scim/v2/Users").status_code == 401
    assert AuditEvent.objects.filter(action="token.revoked", token=token).exists()


def test_another_tenants_provisioning_tokens_are_404(signed_in, full_admin, other_tenant_admin):
    signed_in(other_tenant_admin).post(TOKENS, {"name": "Fabrikam provisioning"})
    token = Token.objects.get()
    client = signed_in(full_admin)
    assert client.post(f"{PAGE}tokens/{token.pk}/revoke/").status_code == 404
    assert "Fabrikam provisioning" not in client.get(PAGE).text
    assert Token.objects.get().revoked_at is None


def test_an_empty_provisioning_token_name_speaks_of_the_identity_provider(signed_in, full_admin):
    response = signed_in(full_admin).post(TOKENS, {"name": ""})
    assert "e.g. the identity provider that will use it." in response.text
    assert "script or integration" not in response.text


def test_the_revoke_dialog_sentence_has_a_subject(signed_in, full_admin, issue):
    issue(full_admin, kind=TokenKind.PROVISIONING, name="Okta provisioning")
    html = signed_in(full_admin).get(PAGE).text
    dialog = html[html.index('<dialog id="revoke-dialog"') :]
    assert "Revoke <strong data-token-name></strong>? It stops working at once:" in dialog


def test_a_deprovisioned_owner_is_named_like_on_the_api_tokens_page(signed_in, full_admin, tenant):
    from tests.factories import TokenFactory, UserFactory

    former = UserFactory(tenant=tenant, role="full_admin")
    TokenFactory(owner=former, kind=TokenKind.PROVISIONING, name="Old provisioning")
    former.deprovision()
    html = signed_in(full_admin).get(PAGE).text
    assert ">Owner deprovisioned</span>" in html and ">Deprovisioned</span>" not in html


def test_the_generated_column_shows_the_exact_moment(signed_in, full_admin, issue):
    token, _ = issue(full_admin, kind=TokenKind.PROVISIONING)
    html = signed_in(full_admin).get(PAGE).text
    assert f">{token.created_at:%Y-%m-%d %H:%M} UTC</time>" in html


def test_role_mapping_boxes_say_how_to_separate_values(signed_in, full_admin):
    html = signed_in(full_admin).get(PAGE).text
    assert html.count("One value per line, or separated by commas.") == 3
    assert 'aria-describedby="id_full_admin_values_helptext"' in html


def test_each_save_button_names_its_section(signed_in, full_admin):
    html = signed_in(full_admin).get(PAGE).text
    assert ">Save single sign-on</button>" in html and ">Save role mapping</button>" in html
    assert ">Save</button>" not in html


def test_the_redirect_uri_and_scim_url_have_copy_buttons(signed_in, full_admin, tenant):
    html = signed_in(full_admin).get(PAGE).text
    for input_id, name, value in [
        ("redirect-uri", "redirect URI", f"{tenant.custom_url}login/sso/callback/"),
        ("scim-url", "SCIM base URL", f"{tenant.custom_url}scim/v2"),
    ]:
        assert f'<input id="{input_id}" class="mono" value="{value}" readonly' in html
        assert (
            f'data-copy-target="{input_id}" aria-label="Copy {name}" hidden>Copy</button>' in html
        )


def test_the_scim_reveal_example_is_a_complete_request(signed_in, full_admin, tenant):
    response = signed_in(full_admin).post(TOKENS, {"name": "Okta provisioning"})
    example = f'curl -H "Authorization: Bearer <token>" "{tenant.custom_url}scim/v2/Users?count=1"'
    assert example in unescape(response.text) and "-X POST" not in response.text
    # and it works as written
    secret = revealed_value(response)
    answer = api_client(secret, scheme="Bearer").get("/scim/v2/Users", {"count": "1"})
    assert answer.status_code == 200


def test_the_summary_says_sso_is_off_until_it_is_complete(signed_in, full_admin):
    html = signed_in(full_admin).get(PAGE).text
    summary = html[html.index('id="summary-title"') : html.index('id="sso-title"')]
    assert ">Off</span>" in summary and "None set" in summary and "None recorded" in summary
    assert "<dt>Provisioning tokens</dt><dd>0</dd>" in summary
    assert "<dt>Password sign-in</dt><dd>On</dd>" in summary


def test_the_summary_shows_sso_on_its_provider_tokens_and_last_sign_in(
    signed_in, full_admin, issue, tenant
):
    from audit.models import Action, Via
    from audit.services import audit_record

    client = signed_in(full_admin)
    client.post(PAGE, {**GOOD_SSO, "password_sign_in": ""})
    issue(full_admin, kind=TokenKind.PROVISIONING)
    audit_record(
        tenant=tenant,
        action=Action.USER_SIGNED_IN,
        via=Via.SSO,
        actor=full_admin,
        subject=full_admin,
        detail="Single sign-on with Okta.",
    )
    html = client.get(PAGE).text
    summary = html[html.index('id="summary-title"') : html.index('id="sso-title"')]
    assert ">On</span>" in summary and "<dd>Okta</dd>" in summary
    assert "<dt>Last single sign-on</dt><dd><time" in summary and "just now" in summary
    assert "<dt>Provisioning tokens</dt><dd>1</dd>" in summary
    assert "<dd>Off: users sign in with single sign-on only</dd>" in summary
