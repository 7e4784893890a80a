"""Middleware identifies, views decide: every endpoint under /api/ and /scim/ declares what it
accepts (web.auth.Access), and a token of each kind gets the answer of that declaration."""

import pytest
from django.test import override_settings
from django.urls import URLPattern, get_resolver

from integrations.models import LogCollector, SiemAgent
from tests.api import api_client
from tokens import crypto
from tokens.models import Token, TokenKind
from web.auth import Access


def routed_views(patterns, prefix=""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern).lstrip("^")
        if isinstance(pattern, URLPattern):
            yield route, pattern.callback
        else:
            yield from routed_views(pattern.url_patterns, route)


TOKEN_ROUTES = [
    (route, view)
    for route, view in routed_views(get_resolver().url_patterns)
    if route.startswith(("api/", "scim/"))
]


def test_the_walk_finds_every_api_and_scim_route():
    assert len(TOKEN_ROUTES) >= 10
    assert {"api/v1/me/", "api/v1/openapi.json"} <= {route for route, _ in TOKEN_ROUTES}


@pytest.mark.parametrize(("route", "view"), TOKEN_ROUTES, ids=[r for r, _ in TOKEN_ROUTES])
def test_every_api_and_scim_view_declares_what_it_accepts(route, view):
    assert isinstance(getattr(view, "access", None), Access), route


def test_only_the_endpoints_meant_for_anyone_are_public():
    public = {route for route, view in TOKEN_ROUTES if view.access.public}
    assert public == {
        "api/v1/openapi.json",
        "api/v1/tokens/report-leak/",
        "scim/(?P<rest>.*)$",  # a SCIM 404 for any path beside /scim/v2
    }


# -- a token of each kind on each kind of endpoint ------------------------------------------

ME, TOKENS, AUDIT = "/api/v1/me/", "/api/v1/tokens/", "/api/v1/audit/"
SIEM_BEAT, COLLECTOR_BEAT = "/api/v1/siem/heartbeat/", "/api/v1/log-collectors/heartbeat/"
SCIM_USERS, OPENAPI, ELSEWHERE = "/scim/v2/Users", "/api/v1/openapi.json", "/api/v1/nothing/"
ENDPOINTS = [
    ("get", ME),
    ("get", TOKENS),
    ("get", AUDIT),
    ("post", SIEM_BEAT),
    ("post", COLLECTOR_BEAT),
    ("get", SCIM_USERS),
    ("get", OPENAPI),
    ("get", ELSEWHERE),
]
NOT_ACCEPTED = "permission denied: this kind of token is not accepted here."


def call(client, method, path):
    # A POST sends an empty JSON object: the test client's default is a multipart body,
    # which the SIEM heartbeat refuses as not JSON.
    if method == "post":
        return client.post(path, content_type="application/json")
    return getattr(client, method)(path)


# None: no token at all. Each row: the statuses of ENDPOINTS, in order.
TABLE = {
    TokenKind.API: [200, 200, 200, 403, 403, 403, 200, 404],
    TokenKind.SIEM: [403, 403, 403, 200, 403, 403, 200, 403],
    TokenKind.LOG_COLLECTOR: [403, 403, 403, 403, 200, 403, 200, 403],
    TokenKind.PROVISIONING: [403, 403, 403, 403, 403, 200, 200, 403],
    None: [401, 401, 401, 401, 401, 401, 200, 401],
}


@pytest.fixture
def token_of(full_admin, issue):
    """A token of a kind, with its integration when the kind has one; None: no token."""

    def make(kind):
        if kind is None:
            return None, api_client()
        token, secret = issue(full_admin, name=f"{kind} caller", kind=kind)
        for model, extra in (
            (SiemAgent, {"format": "cef", "host": "siem.example"}),
            (LogCollector, {"source_type": "dns", "receiver": "syslog"}),
        ):
            if model.token_kind == kind:
                model.objects.create(
                    tenant=full_admin.tenant, name="agent", token=token, port=514,
                    created_by=full_admin, **extra,
                )  # fmt: skip
        return token, api_client(
            secret, scheme="Bearer" if kind == TokenKind.PROVISIONING else "Token"
        )

    return make


def directives(response):
    return set(response.get("Cache-Control", "").split(", ")) - {""}


@override_settings(API_AUTH_FAILURE_LIMIT=1000)
@pytest.mark.parametrize("kind", TABLE, ids=str)
def test_each_kind_of_token_gets_its_answer_on_each_kind_of_endpoint(token_of, kind):
    _, client = token_of(kind)
    answers = [call(client, method, path) for method, path in ENDPOINTS]
    assert [response.status_code for response in answers] == TABLE[kind]
    for response in answers:
        if response.status_code == 403:
            assert response.json()["detail"] == NOT_ACCEPTED
        if response.status_code == 401:
            assert response["WWW-Authenticate"] in ("Token", 'Bearer realm="SCIM"')


@pytest.mark.parametrize("kind", [kind for kind in TABLE if kind is not None], ids=str)
def test_a_token_is_recorded_as_used_only_where_it_is_taken(token_of, kind):
    token, client = token_of(kind)
    calls = list(zip(ENDPOINTS, TABLE[kind], strict=True))
    for (method, path), status in calls:
        if status == 403 or path == OPENAPI:  # refused, or not even looked at
            call(client, method, path)
    assert Token.objects.get(pk=token.pk).last_used_at is None
    for (method, path), status in calls:
        if status != 403 and path != OPENAPI:
            call(client, method, path)
    assert Token.objects.get(pk=token.pk).last_used_at is not None


def test_answers_to_an_accepted_token_are_private_and_refusals_are_not(token_of):
    _, api = token_of(TokenKind.API)
    _, provisioning = token_of(TokenKind.PROVISIONING)
    assert {"private", "no-store"} <= directives(api.get(ME))
    assert {"private", "no-store"} <= directives(provisioning.get(SCIM_USERS))
    assert directives(provisioning.get(ME)) == set()
    assert directives(api.get(SCIM_USERS)) == {"no-store"}  # every SCIM answer is no-store


@override_settings(API_AUTH_FAILURE_LIMIT=2)
def test_failures_under_api_and_scim_count_against_one_limit(db):
    client = api_client(crypto.generate(), scheme="Bearer")
    assert client.get(ME).status_code == 401
    assert client.get(SCIM_USERS).status_code == 401
    assert client.get(ME).status_code == 429
    assert client.get(SCIM_USERS).status_code == 429


def test_a_public_endpoint_never_counts_or_refuses_bad_credentials(db, settings):
    settings.API_AUTH_FAILURE_LIMIT = 1
    client = api_client(crypto.generate())
    assert [client.get(OPENAPI).status_code for _ in range(3)] == [200, 200, 200]
    assert client.get(ME).status_code == 401  # the first failure counted
