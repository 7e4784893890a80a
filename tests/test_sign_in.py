from urllib.parse import quote

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from audit.models import AuditEvent
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


# -- one e-mail in several tenants (e-mails are unique per tenant only) ---------------------

SEVERAL = "use your organisation’s own portal address"


@pytest.fixture
def twins(tenant, other_tenant):
    """The same person's address in two tenants, with the same password."""
    return (
        UserFactory(tenant=tenant, email="twin@example.test"),
        UserFactory(tenant=other_tenant, email="twin@example.test"),
    )


def test_on_a_tenants_host_the_host_picks_which_account_signs_in(twins):
    for twin in twins:
        client, response = sign_in(twin.tenant.host, "Twin@Example.test")
        assert response.status_code == 302
        assert client.get("/about/").context["user"] == twin


@pytest.mark.parametrize("password", [PASSWORD, "wrong password"])
def test_on_the_generic_host_an_email_of_several_tenants_picks_none(twins, password):
    client, response = sign_in("portal.localhost", "twin@example.test", password)
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    body = response.content.decode()
    # Right or wrong password alike: the same words, naming no tenant.
    assert SEVERAL in body and INVALID not in body
    assert "contoso" not in body.lower() and "fabrikam" not in body.lower()


def test_a_failed_sign_in_with_an_email_of_several_tenants_is_audited_in_each(twins):
    sign_in("portal.localhost", "twin@example.test", "wrong password")
    events = AuditEvent.objects.filter(action="user.sign_in_failed")
    assert {(event.tenant, event.subject) for event in events} == {
        (twin.tenant, twin) for twin in twins
    }


def test_an_email_of_one_tenant_still_signs_in_on_the_generic_host(twins, operator):
    twins[1].deprovision()  # a deprovisioned twin still makes the address ambiguous
    _, response = sign_in("portal.localhost", operator.email)
    assert response.status_code == 302
    _, response = sign_in("portal.localhost", "twin@example.test")
    assert SEVERAL in response.content.decode()


def test_a_session_opened_before_deprovisioning_is_deleted(signed_in, operator):
    client = signed_in(operator)
    operator.deprovision()
    assert not Session.objects.filter(session_key=client.session.session_key).exists()
    operator.is_active, operator.deprovisioned_at = True, None
    operator.save()
    response = client.get("/about/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.fixture
def hashes(monkeypatch):
    """How many password hashes a request computed: the cost an attacker can time."""
    from django.contrib.auth.hashers import get_hasher

    hasher_class = type(get_hasher())
    counted = []
    encode = hasher_class.encode

    def counting_encode(self, *args, **kwargs):
        counted.append(1)
        return encode(self, *args, **kwargs)

    monkeypatch.setattr(hasher_class, "encode", counting_encode)
    return counted


@pytest.mark.parametrize(
    "case", ["unknown e-mail", "wrong password", "deprovisioned", "several tenants"]
)
def test_every_failed_sign_in_costs_one_password_hash(hashes, operator, twins, case):
    # Timing cannot tell whether an account exists, or whether the password was right:
    # every failure computes exactly one hash, like a wrong password does.
    email, password = operator.email, "wrong password"
    if case == "unknown e-mail":
        email = "nobody@example.test"
    elif case == "deprovisioned":
        operator.deprovision()
        password = PASSWORD
    elif case == "several tenants":
        email, password = "twin@example.test", PASSWORD
    hashes.clear()
    client, response = sign_in("portal.localhost", email, password)
    assert "_auth_user_id" not in client.session
    assert len(hashes) == 1


def test_signing_out_says_so_on_the_sign_in_page(signed_in, operator):
    response = signed_in(operator).post("/logout/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/login/")
    assert '<p class="alert success">You are signed out.</p>' in response.content.decode()


def test_no_signed_out_message_for_someone_not_signed_in(client, tenant):
    response = client.post("/logout/", HTTP_HOST=tenant.host, follow=True)
    assert "You are signed out." not in response.content.decode()


# --- A form sent after the session ended (UX round 3, finding 11) ------------------------------

LIST = "/settings/security-extensions/api-tokens/"


def session_ended(client):
    """The session expired on the server while the browser kept its cookie and page."""
    Session.objects.all().delete()
    return client


def test_a_revoke_sent_after_the_session_expired_is_not_done_and_sign_in_says_why(
    signed_in, operator
):
    from tests.factories import TokenFactory

    token = TokenFactory(owner=operator, name="CI")
    client = session_ended(signed_in(operator))
    page = f"http://{operator.tenant.host}{LIST}?status=generated&q=ci"
    response = client.post(f"{LIST}{token.pk}/revoke/", {"back": "q=ci"}, HTTP_REFERER=page)
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=" + quote(f"{LIST}?status=generated&q=ci")
    token.refresh_from_db()
    assert token.revoked_at is None
    html = client.get(response["Location"]).content.decode()
    assert (
        '<p class="alert warning">Your session expired, so the token was not revoked. Sign in '
        "and try again.</p>" in html
    )
    assert f'name="next" value="{LIST}?status=generated&amp;q=ci"' in html
    signed = client.post(response["Location"], {"username": operator.email, "password": PASSWORD})
    assert signed["Location"] == f"{LIST}?status=generated&q=ci"
    assert "session expired" not in client.get(signed["Location"]).content.decode()


@pytest.mark.parametrize(
    "referer",
    [None, "https://evil.example/settings/", "http://fabrikam.us.portal.localhost/about/",
     "http://contoso.us.portal.localhost//evil.example/", "http://contoso.us.portal.localhost/login/"],
)  # fmt: skip
def test_signing_in_again_leads_only_to_a_page_of_this_host(signed_in, operator, referer):
    client = session_ended(signed_in(operator))
    headers = {"HTTP_REFERER": referer} if referer else {}
    response = client.post(f"{LIST}policy/", {}, **headers)
    assert response["Location"] == "/login/?next=" + quote(LIST)


def test_a_form_that_declares_nothing_says_nothing_was_saved(signed_in, operator):
    client = session_ended(signed_in(operator))
    response = client.post("/account/notifications/", {}, follow=True)
    assert response.redirect_chain[-1][0].startswith("/login/")
    assert "Your session expired, so nothing you sent was saved." in response.content.decode()


def test_a_page_opened_after_the_session_expired_says_nothing(signed_in, operator):
    client = session_ended(signed_in(operator))
    response = client.get(LIST, follow=True)
    assert response.redirect_chain == [(f"/login/?next={quote(LIST)}", 302)]
    assert "session expired" not in response.content.decode()
