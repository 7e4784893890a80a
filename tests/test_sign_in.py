import pytest
from django.test import Client

from tests.factories import PASSWORD, UserFactory

INVALID = "That email and password do not match an account that can sign in here."


def sign_in(host, email, password=PASSWORD):
    client = Client(HTTP_HOST=host)
    response = client.post("/login/", {"username": email, "password": password})
    return client, response


def test_the_sign_in_page_has_the_contract_labels(client, tenant):
    html = client.get("/login/", HTTP_HOST=tenant.host).content.decode()
    assert ">Email</label>" in html
    assert ">Password</label>" in html
    assert ">Sign in</button>" in html
    assert 'type="email"' in html


def test_a_user_signs_in_on_its_tenants_custom_host(operator):
    client, response = sign_in(operator.tenant.host, operator.email)
    assert response.status_code == 302
    assert response["Location"] == "/settings/security-extensions/api-tokens/"
    assert client.get("/about/").status_code == 200


def test_a_user_signs_in_on_the_generic_host(operator):
    _, response = sign_in("portal.localhost", operator.email)
    assert response.status_code == 302


def test_email_is_matched_case_insensitively(operator):
    _, response = sign_in(operator.tenant.host, operator.email.upper())
    assert response.status_code == 302


def test_a_wrong_password_gets_a_clear_message(operator):
    _, response = sign_in(operator.tenant.host, operator.email, "wrong password")
    assert response.status_code == 200
    assert INVALID in response.content.decode()


@pytest.mark.parametrize("email", ["nobody@contoso.test", "", "not-an-email"])
def test_unknown_accounts_get_the_same_message_as_wrong_passwords(tenant, email):
    _, response = sign_in(tenant.host, email, "whatever")
    assert response.status_code == 200
    body = response.content.decode()
    assert INVALID in body or "This field is required." in body


def test_a_deprovisioned_user_cannot_sign_in_and_is_not_told_why(operator):
    operator.deprovision()
    _, response = sign_in(operator.tenant.host, operator.email)
    assert response.status_code == 200
    assert INVALID in response.content.decode()


def test_a_user_cannot_sign_in_on_another_tenants_host(operator, other_tenant):
    _, response = sign_in(other_tenant.host, operator.email)
    assert response.status_code == 200
    assert INVALID in response.content.decode()


def test_a_session_of_one_tenant_is_not_accepted_on_another_tenants_host(
    signed_in, operator, other_tenant
):
    client = signed_in(operator, host=other_tenant.host)
    response = client.get("/settings/security-extensions/api-tokens/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_deprovisioning_ends_open_sessions(signed_in, operator):
    client = signed_in(operator)
    assert client.get("/about/").status_code == 200
    operator.deprovision()
    response = client.get("/about/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize(
    "path", ["/", "/about/", "/settings/", "/settings/security-extensions/api-tokens/"]
)
def test_pages_require_sign_in(client, tenant, path):
    response = client.get(path, HTTP_HOST=tenant.host)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_sign_out_is_a_post_and_ends_the_session(signed_in, operator):
    client = signed_in(operator)
    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/").status_code == 302
    assert client.get("/about/").status_code == 302


def test_sign_in_rotates_the_session_key(operator):
    client = Client(HTTP_HOST=operator.tenant.host)
    client.get("/login/")
    client.session.save()
    before = client.session.session_key
    client.post("/login/", {"username": operator.email, "password": PASSWORD})
    assert client.session.session_key != before


def test_a_tenantless_superuser_is_sent_to_django_admin(db):
    admin = UserFactory(tenant=None, is_superuser=True, is_staff=True)
    client = Client(HTTP_HOST="portal.localhost")
    client.force_login(admin)
    response = client.get("/settings/security-extensions/api-tokens/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_login_form_is_csrf_protected(tenant, operator):
    client = Client(HTTP_HOST=tenant.host, enforce_csrf_checks=True)
    response = client.post("/login/", {"username": operator.email, "password": PASSWORD})
    assert response.status_code == 403
