"""Single sign-on with OpenID Connect, end to end against a real provider on loopback."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from audit.models import AuditEvent
from identity.models import IdentitySettings
from tests.factories import UserFactory
from tests.oidc import oidc_provider, sign_in_at_provider, with_query  # noqa: F401

REFUSED = "Single sign-on refused"
PROVIDER_FAILED = "The identity provider could not be used right now."


def configure(tenant, provider, **changes):
    client_id, secret = provider.client(tenant.slug)
    values = {
        "sso_enabled": True,
        "provider_name": "Test IdP",
        "issuer": provider.issuer,
        "client_id": client_id,
        "client_secret": secret,
        **changes,
    }
    return IdentitySettings.objects.update_or_create(tenant=tenant, defaults=values)[0]


@pytest.fixture
def provider(oidc_provider, tenant):  # noqa: F811
    configure(tenant, oidc_provider)
    yield oidc_provider
    oidc_provider.behave()


def start(host, **params):
    browser = Client(HTTP_HOST=host)
    response = browser.get("/login/sso/", params)
    assert response.status_code == 302, response.content[:300]
    return browser, response["Location"]


def finish(browser, callback):
    parts = urlsplit(callback)
    return browser.get(parts.path, parse_qs(parts.query))


def sign_in(host, login, tamper_url=lambda url: url):
    browser, authorization = start(host)
    return browser, finish(browser, sign_in_at_provider(tamper_url(authorization), login))


def test_the_sign_in_page_offers_the_provider_only_on_its_tenants_host(
    provider, tenant, other_tenant
):
    assert "Sign in with Test IdP" in Client().get("/login/", HTTP_HOST=tenant.host).text
    assert "Sign in with" not in Client().get("/login/", HTTP_HOST=other_tenant.host).text
    assert "Sign in with" not in Client().get("/login/", HTTP_HOST="portal.localhost").text


def test_the_sso_pages_are_404_where_no_tenant_offers_it(provider, other_tenant):
    for host in ("portal.localhost", other_tenant.host):
        assert Client(HTTP_HOST=host).get("/login/sso/").status_code == 404
        assert Client(HTTP_HOST=host).get("/login/sso/callback/").status_code == 404


def test_the_authorization_request_uses_pkce_state_and_nonce(provider, tenant):
    _, authorization = start(tenant.host)
    query = parse_qs(urlsplit(authorization).query)
    assert authorization.startswith(provider.issuer + "/auth?")
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43
    assert query["state"][0] and query["nonce"][0]
    assert query["client_id"] == ["portal-contoso"]
    assert query["redirect_uri"] == ["http://contoso.us.portal.localhost/login/sso/callback/"]


def test_a_user_signs_in_with_the_provider_and_it_is_audited(provider, operator):
    browser, response = sign_in(operator.tenant.host, operator.email)
    assert response.status_code == 302
    assert response["Location"] == "/settings/security-extensions/api-tokens/"
    assert browser.get("/about/").context["user"] == operator
    event = AuditEvent.objects.get(action="user.signed_in")
    assert event.via == "sso" and event.subject == operator
    assert event.detail == "Single sign-on with Test IdP."


def test_the_email_is_matched_case_insensitively(provider, operator):
    _, response = sign_in(operator.tenant.host, operator.email.upper())
    assert response.status_code == 302


def test_sign_in_returns_to_the_page_asked_for(provider, operator):
    browser, authorization = start(operator.tenant.host, next="/about/")
    response = finish(browser, sign_in_at_provider(authorization, operator.email))
    assert response["Location"] == "/about/"


def test_an_id_token_for_another_audience_is_refused(provider, operator, caplog):
    provider.tamper(aud="another-client")
    browser, response = sign_in(operator.tenant.host, operator.email)
    assert response.status_code == 403
    assert "ID token failed verification" in response.text
    assert "Invalid claim: 'aud'" in caplog.text
    assert browser.get("/about/").status_code == 302  # not signed in


def test_an_id_token_from_another_issuer_is_refused(provider, operator, caplog):
    provider.tamper(iss="https://attacker.example")
    _, response = sign_in(operator.tenant.host, operator.email)
    assert response.status_code == 403 and "failed verification" in response.text
    assert "Invalid claim: 'iss'" in caplog.text


def test_an_expired_id_token_is_refused(provider, operator):
    provider.tamper(exp=1_000_000_000, iat=999_999_000)
    _, response = sign_in(operator.tenant.host, operator.email)
    assert response.status_code == 403 and "failed verification" in response.text


def test_a_nonce_other_than_the_one_sent_is_refused(provider, operator, caplog):
    def tamper(url):
        return with_query(url, nonce="a-nonce-the-portal-never-sent")

    browser, response = sign_in(operator.tenant.host, operator.email, tamper)
    assert response.status_code == 403 and "failed verification" in response.text
    assert "Invalid claim: 'nonce'" in caplog.text
    assert browser.get("/about/").status_code == 302


def test_a_callback_cannot_be_replayed(provider, operator):
    browser, authorization = start(operator.tenant.host)
    callback = sign_in_at_provider(authorization, operator.email)
    assert finish(browser, callback).status_code == 302
    browser.post("/logout/")
    assert finish(browser, callback).status_code == 403


def test_a_forged_callback_is_refused(provider, tenant):
    browser = Client(HTTP_HOST=tenant.host)
    response = browser.get("/login/sso/callback/", {"code": "forged", "state": "forged"})
    assert response.status_code == 403 and REFUSED in response.text


def test_an_error_from_the_provider_is_refused_with_its_meaning(provider, tenant):
    browser, _ = start(tenant.host)
    response = browser.get("/login/sso/callback/", {"error": "access_denied", "state": "x"})
    assert response.status_code == 403 and "cancelled" in response.text


def test_an_unknown_email_is_refused_and_no_account_is_created(provider, tenant):
    _, response = sign_in(tenant.host, "stranger@contoso.test")
    assert response.status_code == 403
    assert "Contoso has no account for stranger@contoso.test" in response.text
    assert not tenant.users.filter(email="stranger@contoso.test").exists()
    failure = AuditEvent.objects.get(action="user.sign_in_failed")
    assert failure.via == "sso" and "stranger@contoso.test" in failure.detail


def test_a_deprovisioned_user_is_refused(provider, operator):
    operator.deprovision()
    browser, response = sign_in(operator.tenant.host, operator.email)
    assert response.status_code == 403 and "deprovisioned" in response.text
    assert browser.get("/about/").status_code == 302


def test_an_unverified_email_is_refused(provider, tenant):
    UserFactory(tenant=tenant, email="new+unverified@contoso.test")
    _, response = sign_in(tenant.host, "new+unverified@contoso.test")
    assert response.status_code == 403 and "not verified" in response.text


MISSING = object()


@pytest.mark.parametrize(
    "verified",
    ["false", "true", 0, 1, None, "", [], {}, MISSING],
    ids=["string-false", "string-true", "0", "1", "null", "empty", "list", "object", "missing"],
)
def test_only_a_json_true_email_verified_counts(provider, operator, verified):
    if verified is MISSING:
        provider.account_claims(remove=["email_verified"])
    else:
        provider.account_claims(set={"email_verified": verified})
    browser, response = sign_in(operator.tenant.host, operator.email)
    assert response.status_code == 403 and "not verified" in response.text
    assert browser.get("/about/").status_code == 302


def test_an_identity_of_another_tenant_never_signs_in_here(provider, tenant, other_tenant_admin):
    browser, response = sign_in(tenant.host, other_tenant_admin.email)
    assert response.status_code == 403 and "has no account" in response.text
    assert browser.get("/about/").status_code == 302


def test_an_email_of_several_tenants_signs_in_as_this_tenants_user(
    provider, operator, other_tenant
):
    twin = UserFactory(tenant=other_tenant, email=operator.email)
    browser, response = sign_in(operator.tenant.host, operator.email.upper())
    assert response.status_code == 302
    assert browser.get("/about/").context["user"] == operator
    twin.deprovision()  # nor does a deprovisioned twin elsewhere get in the way
    _, response = sign_in(operator.tenant.host, operator.email)
    assert response.status_code == 302


def test_a_flow_started_on_one_tenant_cannot_finish_on_another(
    oidc_provider,  # noqa: F811
    tenant,
    other_tenant,
    operator,
):
    configure(tenant, oidc_provider)
    configure(other_tenant, oidc_provider)
    UserFactory(tenant=other_tenant, email="someone@fabrikam.test")
    browser, authorization = start(tenant.host)
    callback = urlsplit(sign_in_at_provider(authorization, operator.email))
    browser.defaults["HTTP_HOST"] = other_tenant.host
    response = browser.get(callback.path, parse_qs(callback.query))
    assert response.status_code == 403
    assert browser.get("/about/").status_code == 302


def test_a_wrong_client_secret_is_refused(oidc_provider, operator):  # noqa: F811
    configure(operator.tenant, oidc_provider, client_secret="not-the-secret")
    _, response = sign_in(operator.tenant.host, operator.email)
    assert response.status_code == 403 and REFUSED in response.text


def test_a_discovery_document_naming_another_issuer_is_refused(oidc_provider, tenant, caplog):  # noqa: F811
    configure(tenant, oidc_provider, issuer=oidc_provider.issuer + "/")
    response = Client(HTTP_HOST=tenant.host).get("/login/sso/")
    # The page says what it says for any provider failure (test_sso_outbound.py); the log
    # tells the operator which.
    assert response.status_code == 502 and PROVIDER_FAILED in response.text
    assert f"names the issuer '{oidc_provider.issuer}'" in caplog.text


def test_an_unreachable_provider_is_a_clear_refusal(tenant):
    configure_unreachable = {
        "sso_enabled": True,
        "provider_name": "Down",
        "issuer": "http://127.0.0.1:9",
        "client_id": "x",
        "client_secret": "y",
    }
    IdentitySettings.objects.create(tenant=tenant, **configure_unreachable)
    response = Client(HTTP_HOST=tenant.host).get("/login/sso/")
    assert response.status_code == 502 and PROVIDER_FAILED in response.text


def test_the_client_secret_stays_out_of_the_logs(provider, operator, caplog):
    caplog.set_level("DEBUG")
    sign_in(operator.tenant.host, operator.email)
    configure(operator.tenant, provider, client_secret="a-wrong-but-secret-value")
    sign_in(operator.tenant.host, operator.email)
    assert "contoso-client-secret" not in caplog.text
    assert "a-wrong-but-secret-value" not in caplog.text
