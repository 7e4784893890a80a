"""Password sign-in turned off per tenant: single sign-on only, with manage.py as break-glass."""

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from audit.models import AuditEvent
from identity.models import IdentitySettings
from tests.factories import PASSWORD

SSO_ONLY = "Contoso signs in with single sign-on only"


@pytest.fixture
def passwords_off(tenant):
    return IdentitySettings.objects.create(
        tenant=tenant,
        sso_enabled=True,
        provider_name="Okta",
        issuer="https://contoso.okta.example",
        client_id="portal",
        client_secret="secret",
        password_sign_in=False,
    )


def sign_in(host, email, password=PASSWORD):
    return Client(HTTP_HOST=host).post("/login/", {"username": email, "password": password})


def test_the_tenants_sign_in_page_offers_only_single_sign_on(passwords_off, tenant):
    html = Client().get("/login/", HTTP_HOST=tenant.host).text
    assert "Sign in with Okta" in html
    assert "Password sign-in is turned off for Contoso." in html
    assert 'name="password"' not in html


def test_a_password_on_the_tenants_host_is_refused_and_points_to_sso(passwords_off, operator):
    response = sign_in(operator.tenant.host, operator.email)
    assert response.status_code == 403
    assert SSO_ONLY in response.text and "Sign in with Okta" in response.text
    assert AuditEvent.objects.filter(action="user.sign_in_failed").exists()


@pytest.mark.parametrize("password", [PASSWORD, "wrong password"])
def test_on_the_generic_host_right_and_wrong_passwords_get_the_same_answer(
    passwords_off, operator, password
):
    # The tenant's own host refuses passwords before checking them; the generic host checks
    # them, so a different answer for the right one would confirm a guessed password.
    client = Client(HTTP_HOST="portal.localhost")
    response = client.post("/login/", {"username": operator.email, "password": password})
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    assert "do not match an account" in response.text
    assert SSO_ONLY not in response.text and "Okta" not in response.text
    assert "contoso.us.portal.localhost" not in response.text
    event = AuditEvent.objects.get(action="user.sign_in_failed")
    assert event.subject == operator


def test_other_tenants_keep_their_passwords(passwords_off, other_tenant_admin):
    assert sign_in(other_tenant_admin.tenant.host, other_tenant_admin.email).status_code == 302
    assert sign_in("portal.localhost", other_tenant_admin.email).status_code == 302


def test_passwords_are_allowed_again_once_sso_is_incomplete(passwords_off, operator):
    passwords_off.client_secret = ""
    passwords_off.save()
    assert sign_in(operator.tenant.host, operator.email).status_code == 302


def test_the_break_glass_command_turns_passwords_back_on_and_is_audited(
    passwords_off, operator, capsys
):
    call_command("setpasswordsignin", "contoso", "on")
    assert "Password sign-in is now on for contoso." in capsys.readouterr().out
    assert sign_in(operator.tenant.host, operator.email).status_code == 302
    event = AuditEvent.objects.get(action="tenant.identity_changed")
    assert event.via == "command" and event.detail == "Password sign-in turned on."


def test_the_command_refuses_to_lock_a_tenant_without_sso_out(tenant):
    with pytest.raises(CommandError, match="lock everyone out"):
        call_command("setpasswordsignin", "contoso", "off")
    with pytest.raises(CommandError, match="No tenant"):
        call_command("setpasswordsignin", "nowhere", "on")


def test_password_commands_keep_working_while_passwords_are_off(passwords_off, tenant, capsys):
    call_command(
        "createuser",
        "breakglass@contoso.test",
        tenant="contoso",
        role="full_admin",
        password="a long break-glass password",
    )
    assert "Created" in capsys.readouterr().out
    assert (
        sign_in(tenant.host, "breakglass@contoso.test", "a long break-glass password").status_code
        == 403
    )
    call_command("setpasswordsignin", "contoso", "on")
    response = sign_in(tenant.host, "breakglass@contoso.test", "a long break-glass password")
    assert response.status_code == 302
