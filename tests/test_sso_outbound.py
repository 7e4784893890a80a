"""What single sign-on may call, and how often (issue 14): the portal reaches out only to the
configured provider's public host, never follows a redirect, answers every provider failure
with one message, and a provider that hangs is asked once per window, not on every request."""

import socket
import threading
from ipaddress import ip_address

import pytest
from django.test import Client

from identity import discovery
from identity.models import IdentitySettings
from identity.outbound import ProviderUnavailable
from tests.provider_stub import (
    CLIENT_ID,
    CLIENT_SECRET,
    DISCOVERY_PATH,
    Answer,
    authorization_query,
    closed_port,
    stub_provider,
)

FAILED = "The identity provider could not be used right now."
PAGE = "/settings/identity/"


def configure(tenant, issuer, **changes):
    values = {
        "sso_enabled": True,
        "provider_name": "Stub IdP",
        "issuer": issuer,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        **changes,
    }
    return IdentitySettings.objects.update_or_create(tenant=tenant, defaults=values)[0]


def assert_provider_failed(response):
    """The one answer for every way a provider can fail: no detail an attacker could use."""
    assert response.status_code == 502, response.content[:300]
    assert response.context["message"].startswith(FAILED)


def start_and_call_back(tenant, code="a-code"):
    """Start single sign-on, then come back as the provider would (with the state it got)."""
    browser = Client(HTTP_HOST=tenant.host)
    started = browser.get("/login/sso/")
    state = "never-started"
    if started.status_code == 302:
        state = authorization_query(started["Location"]).get("state", state)
    return started, browser.get("/login/sso/callback/", {"code": code, "state": state})


@pytest.fixture
def public_networks_only(settings):
    settings.IDENTITY_PROVIDER_PRIVATE_NETWORKS_ALLOWED = False


# --- Internal addresses: refused when saved, and when used ----------------------------------

INTERNAL_ISSUERS = [
    "http://idp.example",
    "http://127.0.0.1:8401",
    "https://127.0.0.1",
    "https://10.1.2.3",
    "https://192.168.0.10:8443",
    "https://169.254.169.254",
    "https://[::1]",
    "https://[fe80::1]",
    "https://[::ffff:127.0.0.1]",
    "https://0.0.0.0",
    "https://100.64.0.1",
    "https://8.8.8.8",
    "https://localhost",
    "https://idp.localhost",
]


@pytest.mark.parametrize("issuer", INTERNAL_ISSUERS)
def test_internal_or_plain_http_issuers_are_refused_on_save(
    public_networks_only, signed_in, full_admin, issuer
):
    response = signed_in(full_admin).post(
        PAGE,
        {
            "sso_enabled": "on",
            "provider_name": "Okta",
            "issuer": issuer,
            "client_id": "portal",
            "client_secret": "secret",
            "password_sign_in": "on",
        },
    )
    assert response.status_code == 400
    assert response.context["sso_form"].errors["issuer"]
    assert not IdentitySettings.objects.exists()


@pytest.mark.parametrize(
    "shape", ["http://127.0.0.1:{}", "https://127.0.0.1:{}", "https://localhost:{}"]
)
def test_internal_issuers_saved_before_are_refused_at_use_without_a_connection(
    public_networks_only, tenant, shape
):
    with stub_provider() as stub:
        stub.behave()
        configure(tenant, shape.format(stub.port))
        started, came_back = start_and_call_back(tenant)
        assert stub.connections == 0
    assert_provider_failed(started)
    assert came_back.status_code in (403, 502)


@pytest.fixture
def fake_dns(monkeypatch):
    """Names the test resolves itself, in order of calls: how DNS rebinding looks to the
    portal (a name that answers one address, then another)."""
    answers = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            address = answers[host].pop(0) if len(answers[host]) > 1 else answers[host][0]
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


def test_a_name_that_resolves_to_loopback_is_refused_when_connecting(
    public_networks_only, tenant, fake_dns
):
    with stub_provider() as stub:
        fake_dns["idp.rebind.test"] = ["127.0.0.1"]
        configure(tenant, f"https://idp.rebind.test:{stub.port}")
        started, _ = start_and_call_back(tenant)
        assert stub.connections == 0
    assert_provider_failed(started)


def test_the_address_checked_is_the_address_connected_to(
    public_networks_only, tenant, fake_dns, monkeypatch
):
    """A name that answers an allowed address to the check and an internal one right after
    must not get the connection to the internal one: the portal connects to the address it
    checked. (127.0.0.2 stands in for a public address, which a test may not contact.)"""
    monkeypatch.setattr(
        "identity.outbound.is_internal", lambda address: address == ip_address("127.0.0.1")
    )
    with (
        stub_provider() as internal,
        stub_provider(host="127.0.0.2", port=internal.port) as checked,
    ):
        fake_dns["idp.rebind.test"] = ["127.0.0.2", "127.0.0.1"]
        configure(tenant, f"https://idp.rebind.test:{checked.port}")
        Client(HTTP_HOST=tenant.host).get("/login/sso/")
        assert internal.connections == 0
        assert checked.connections == 1  # (TLS then fails: the stub speaks plain HTTP)


# --- Endpoints of the discovery document ----------------------------------------------------

ENDPOINTS = ["authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint"]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_an_endpoint_on_another_host_is_refused_before_the_secret_is_sent(tenant, endpoint):
    with stub_provider() as issuer, stub_provider() as elsewhere:
        # Same machine, another host name and port: the private-network setting is on, so
        # only the rule "endpoints live on the issuer's host" can refuse it.
        issuer.behave(**{endpoint: f"http://localhost:{elsewhere.port}/steal"})
        elsewhere.routes["/steal"] = Answer(body={"access_token": "x", "token_type": "Bearer"})
        configure(tenant, issuer.issuer)
        started, came_back = start_and_call_back(tenant)
        assert elsewhere.requests == [] and elsewhere.connections == 0
        assert not issuer.received("/token")
    assert_provider_failed(started)
    assert came_back.status_code in (403, 502)


def test_hosts_of_the_allow_list_may_serve_endpoints(tenant, settings):
    """For providers whose endpoints live on other hosts than the issuer (Google's do)."""
    settings.IDENTITY_PROVIDER_ENDPOINT_HOSTS = ["localhost"]
    with stub_provider() as issuer, stub_provider() as elsewhere:
        issuer.behave(authorization_endpoint=f"http://localhost:{elsewhere.port}/auth")
        configure(tenant, issuer.issuer)
        started = Client(HTTP_HOST=tenant.host).get("/login/sso/")
    assert started.status_code == 302
    assert started["Location"].startswith(f"http://localhost:{elsewhere.port}/auth?")


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_FLUSHALL",
        "https://user:password@{host}/token",
        "//{host}/token",
        "/token",
        "",
        None,
        42,
        ["{issuer}/token"],
    ],
)
def test_a_token_endpoint_that_is_not_a_plain_url_on_the_issuer_is_refused(tenant, url):
    with stub_provider() as issuer:
        host = f"127.0.0.1:{issuer.port}"
        if isinstance(url, str):
            url = url.format(host=host, issuer=issuer.issuer)
        elif isinstance(url, list):
            url = [item.format(issuer=issuer.issuer) for item in url]
        issuer.behave(token_endpoint=url)
        configure(tenant, issuer.issuer)
        started, _ = start_and_call_back(tenant)
        assert not [r for r in issuer.requests if r[0] == "POST"]
    assert_provider_failed(started)


def test_a_redirect_from_the_discovery_url_is_not_followed(tenant):
    with stub_provider() as issuer, stub_provider() as elsewhere:
        elsewhere.routes[DISCOVERY_PATH] = Answer(body=issuer.discovery())
        issuer.routes[DISCOVERY_PATH] = Answer(
            302, headers={"Location": f"{elsewhere.issuer}{DISCOVERY_PATH}"}
        )
        configure(tenant, issuer.issuer)
        started, _ = start_and_call_back(tenant)
        assert elsewhere.connections == 0
    assert_provider_failed(started)


def test_a_redirect_from_the_token_endpoint_is_not_followed_with_the_secret(tenant):
    with stub_provider() as issuer, stub_provider() as elsewhere:
        issuer.behave()
        # 307 keeps the method and the body: a client that followed it would post the code
        # and its credentials to the other server.
        issuer.routes["/token"] = Answer(307, headers={"Location": f"{elsewhere.issuer}/token"})
        configure(tenant, issuer.issuer)
        started, came_back = start_and_call_back(tenant)
        assert started.status_code == 302
        assert len(issuer.received("/token")) == 1
        assert elsewhere.connections == 0
    assert_provider_failed(came_back)


# --- One answer for every failure -----------------------------------------------------------

SERVICES = {
    "html-page": Answer(200, b"<html><body>Welcome to the intranet</body></html>"),
    "not-found": Answer(404, b"Not Found"),
    "server-error": Answer(500, b"Internal Server Error"),
    "json-object": Answer(body={"status": "ok"}),
    "json-list": Answer(body=["not", "an", "object"]),
    "json-string": Answer(body="a string"),
    "json-null": Answer(body=None),
    "another-issuer": Answer(body={"issuer": "https://elsewhere.example"}),
    "no-endpoints": None,  # the issuer's own name, nothing else
}


@pytest.mark.parametrize("service", SERVICES, ids=SERVICES)
def test_a_closed_port_and_any_other_service_get_the_same_answer(tenant, service):
    with closed_port() as port:
        configure(tenant, f"http://127.0.0.1:{port}")
        closed = Client(HTTP_HOST=tenant.host).get("/login/sso/")
    with stub_provider() as stub:
        answer = SERVICES[service] or Answer(body={"issuer": stub.issuer})
        stub.routes[DISCOVERY_PATH] = answer
        configure(tenant, stub.issuer)
        other = Client(HTTP_HOST=tenant.host).get("/login/sso/")
        assert stub.received(DISCOVERY_PATH)
    assert_provider_failed(closed)
    assert (other.status_code, other.context["message"]) == (
        closed.status_code,
        closed.context["message"],
    )


# --- Bad provider answers later in the flow: never a 500 ------------------------------------

BAD_ANSWERS = {
    "jwks-list": ("/jwks", Answer(body=[]), 502),
    "jwks-keys-junk": ("/jwks", Answer(body={"keys": "junk"}), 502),
    "jwks-bad-key": ("/jwks", Answer(body={"keys": [{"kty": "junk"}]}), 502),
    "jwks-not-json": ("/jwks", Answer(200, b"<html>"), 502),
    "token-not-json": ("/token", Answer(200, b"<html>"), 502),
    "token-list": ("/token", Answer(body=["access_token"]), 502),
    "token-string": ("/token", Answer(body="token"), 502),
    "token-null": ("/token", Answer(body=None), 502),
    "token-empty": ("/token", Answer(body={}), 502),
    "token-500": ("/token", Answer(500, b"oops"), 502),
    "id-token-junk": ("/token", Answer(body={"access_token": "a", "id_token": "junk"}), 403),
    "id-token-number": ("/token", Answer(body={"access_token": "a", "id_token": 5}), 403),
    "id-token-dots": ("/token", Answer(body={"access_token": "a", "id_token": "a.b.c"}), 403),
}


@pytest.mark.parametrize(("path", "answer", "status"), BAD_ANSWERS.values(), ids=BAD_ANSWERS)
def test_a_bad_provider_answer_is_a_refusal_never_a_500(tenant, operator, path, answer, status):
    with stub_provider() as stub:
        stub.behave()
        configure(tenant, stub.issuer)
        browser = Client(HTTP_HOST=tenant.host)
        query = authorization_query(browser.get("/login/sso/")["Location"])
        stub.routes["/token"] = Answer(body=stub.token_answer(query["nonce"]))
        stub.routes[path] = answer
        response = browser.get("/login/sso/callback/", {"code": "c", "state": query["state"]})
    assert response.status_code == status, response.content[:300]
    assert "Single sign-on refused" in response.text
    assert browser.get("/about/").status_code == 302  # nobody signed in


USERINFO_ANSWERS = {
    "list": Answer(body=[]),
    "not-json": Answer(200, b"<html>"),
    "null": Answer(body=None),
    "error": Answer(500, b"oops"),
}


@pytest.mark.parametrize("answer", USERINFO_ANSWERS.values(), ids=USERINFO_ANSWERS)
def test_a_bad_userinfo_answer_is_a_refusal_never_a_500(tenant, operator, answer):
    with stub_provider() as stub:
        stub.behave()
        configure(tenant, stub.issuer)
        browser = Client(HTTP_HOST=tenant.host)
        query = authorization_query(browser.get("/login/sso/")["Location"])
        stub.routes["/token"] = Answer(body=stub.token_answer(query["nonce"]))  # no e-mail
        stub.routes["/userinfo"] = answer
        response = browser.get("/login/sso/callback/", {"code": "c", "state": query["state"]})
    assert_provider_failed(response)


def test_the_stub_provider_signs_in_when_it_behaves(tenant, operator):
    """The stub is a working provider until a test breaks it: the refusals above are the
    broken part's doing."""
    with stub_provider() as stub:
        stub.behave()
        configure(tenant, stub.issuer)
        browser = Client(HTTP_HOST=tenant.host)
        query = authorization_query(browser.get("/login/sso/")["Location"])
        stub.routes["/token"] = Answer(
            body=stub.token_answer(query["nonce"], email=operator.email, email_verified=True)
        )
        response = browser.get("/login/sso/callback/", {"code": "c", "state": query["state"]})
        assert response.status_code == 302
    assert browser.get("/about/").context["user"] == operator


# --- Caching, failure caching and the start limit ------------------------------------------


@pytest.fixture
def short_timeouts(settings):
    # Only so the hanging provider costs the test little: nothing here measures time.
    settings.IDENTITY_PROVIDER_CONNECT_TIMEOUT = 0.5
    settings.IDENTITY_PROVIDER_READ_TIMEOUT = 0.3


def test_a_hanging_provider_is_asked_once_while_its_failure_is_remembered(tenant, short_timeouts):
    with stub_provider(hang=True) as stub:
        configure(tenant, stub.issuer)
        answers = [
            Client(HTTP_HOST=tenant.host).get("/login/sso/", REMOTE_ADDR=f"198.51.100.{n}")
            for n in range(6)
        ]
        assert stub.connections == 1
    for answer in answers:
        assert_provider_failed(answer)


def ask(issuer):
    try:
        discovery.provider_metadata(issuer)
    except ProviderUnavailable:
        return "unavailable"
    return "answered"


def test_while_one_request_waits_for_a_hanging_provider_the_others_do_not(tenant, settings):
    settings.IDENTITY_PROVIDER_READ_TIMEOUT = 2  # how long the first one waits: not measured
    with stub_provider(hang=True) as stub:
        configure(tenant, stub.issuer)
        outcome = []
        asking = threading.Thread(target=lambda: outcome.append(ask(stub.issuer)))
        asking.start()
        while stub.connections == 0 and asking.is_alive():
            asking.join(0.01)
        # Another request meanwhile fails at once instead of asking (and waiting) too.
        assert_provider_failed(Client(HTTP_HOST=tenant.host).get("/login/sso/"))
        asking.join()
        assert stub.connections == 1
    assert outcome == ["unavailable"]


def test_the_discovery_document_and_keys_are_fetched_once_for_many_sign_ins(tenant, operator):
    with stub_provider() as stub:
        stub.behave()
        configure(tenant, stub.issuer)
        for _ in range(3):
            browser = Client(HTTP_HOST=tenant.host)
            query = authorization_query(browser.get("/login/sso/")["Location"])
            stub.routes["/token"] = Answer(
                body=stub.token_answer(query["nonce"], email=operator.email, email_verified=True)
            )
            callback = {"code": "c", "state": query["state"]}
            assert browser.get("/login/sso/callback/", callback).status_code == 302
        assert len(stub.received(DISCOVERY_PATH)) == 1
        assert len(stub.received("/jwks")) == 1
        assert len(stub.received("/token")) == 3


def test_a_new_issuer_is_used_at_once_after_saving(signed_in, full_admin, tenant, short_timeouts):
    with stub_provider() as first, stub_provider() as second, stub_provider(hang=True) as hung:
        first.behave()
        second.behave()
        configure(tenant, hung.issuer)
        assert_provider_failed(Client(HTTP_HOST=tenant.host).get("/login/sso/"))
        admin = signed_in(full_admin)
        form = {
            "sso_enabled": "on",
            "provider_name": "Stub IdP",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "password_sign_in": "on",
        }
        for stub in (first, second):
            assert admin.post(PAGE, {**form, "issuer": stub.issuer}).status_code == 302
            started = Client(HTTP_HOST=tenant.host).get("/login/sso/")
            assert started["Location"].startswith(f"{stub.issuer}/auth?")
        # Saving again (the admin fixed the provider) forgets its remembered failure at once.
        assert admin.post(PAGE, {**form, "issuer": hung.issuer}).status_code == 302
        Client(HTTP_HOST=tenant.host).get("/login/sso/")
        assert hung.connections == 2


def test_too_many_sso_starts_from_one_address_get_429(tenant, settings):
    settings.SSO_START_RATE = 3
    with stub_provider() as stub:
        stub.behave()
        configure(tenant, stub.issuer)
        browser = Client(HTTP_HOST=tenant.host)
        codes = [
            browser.get("/login/sso/", REMOTE_ADDR="203.0.113.7").status_code for _ in range(4)
        ]
        throttled = browser.get("/login/sso/", REMOTE_ADDR="203.0.113.7")
        elsewhere = browser.get("/login/sso/", REMOTE_ADDR="203.0.113.8")
    assert codes == [302, 302, 302, 429]
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) >= 1
    assert "Too many single sign-on attempts" in throttled.text
    assert elsewhere.status_code == 302
