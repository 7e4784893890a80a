"""The OpenAPI document cannot drift from the API: it is valid, it names exactly the routes
under /api/ and the methods their views allow, and every answer under /api/ that any test of
the suite receives is checked against it (tests.api.check_answer, applied by conftest)."""

import uuid

import jsonschema
import pytest
from django.http import JsonResponse
from django.urls import URLResolver, get_resolver, resolve
from openapi_spec_validator import validate

from audit.services import audit_record
from portal.openapi import merged
from tests.api import api_client, check_answer, path_shape, served_document
from tests.factories import TokenFactory
from tests.pages import revealed_value
from tokens.models import TokenKind


@pytest.fixture
def document(db):
    return api_client().get("/api/v1/openapi.json").json()


def test_the_document_is_valid_openapi_3_1(document):
    validate(document)


def test_the_check_holds_answers_to_the_served_document(document):
    assert {**served_document(), "servers": document["servers"]} == document


def api_routes(resolver=None, prefix="/"):
    """Every route of the URL map under /api/, whichever URLconf declares it."""
    for pattern in (resolver or get_resolver()).url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from api_routes(pattern, route)
        elif route.startswith("/api/"):
            yield route


def test_every_api_route_is_documented_and_every_documented_path_is_routed(document):
    assert {path_shape(route) for route in api_routes()} == set(map(path_shape, document["paths"]))


EXAMPLE_OF_FORMAT = {"uuid": str(uuid.uuid4())}


def filled(path, item):
    """path with each of its parameters given a value of the documented format, or its
    documented example."""
    for parameter in item.get("parameters", []):
        schema = parameter["schema"]
        example = (
            EXAMPLE_OF_FORMAT[schema["format"]] if "format" in schema else schema["examples"][0]
        )
        path = path.replace("{" + parameter["name"] + "}", example)
    return path


def test_every_documented_path_resolves_with_its_documented_parameters(document):
    for path, item in document["paths"].items():
        assert path_shape("/" + resolve(filled(path, item)).route) == path_shape(path)


@pytest.fixture
def token_of_each_kind(issue, full_admin):
    kinds = (TokenKind.API, TokenKind.SIEM, TokenKind.LOG_COLLECTOR)
    return [issue(full_admin, name=kind.label, kind=kind)[1] for kind in kinds]


def test_every_view_allows_exactly_the_documented_methods(document, token_of_each_kind):
    """OPTIONS is no endpoint's method, so each view answers it with 405 and its Allow header
    once a token of its kind gets past authentication."""
    for path, item in document["paths"].items():
        allowed = {
            response["Allow"]
            for secret in token_of_each_kind
            if (response := api_client(secret).options(filled(path, item))).status_code == 405
        }
        documented = {method.upper() for method in item if method != "parameters"}
        documented |= {"HEAD"} if "GET" in documented else set()
        assert [set(allow.split(", ")) for allow in allowed] == [documented], path


def test_exactly_the_operations_documented_as_public_answer_without_a_token(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                response = getattr(api_client(), method)(filled(path, item))
                public = operation.get("security", document["security"]) == []
                assert (response.status_code != 401) == public, f"{method} {path}"


def answer(status, body, path="/api/v1/me/"):
    """A GET's response as the test client returns it, to show what the check refuses."""
    response = JsonResponse(body, status=status)
    response.request = {"PATH_INFO": path, "REQUEST_METHOD": "GET"}
    response.resolver_match = resolve(path)
    response.json = lambda: body
    return response


def test_the_check_refuses_an_undocumented_status():
    with pytest.raises(AssertionError, match="GET /api/v1/me/ answered undocumented 409"):
        check_answer(answer(409, {"detail": "Conflict."}))


def test_the_check_refuses_a_body_outside_the_schema():
    with pytest.raises(jsonschema.ValidationError):
        check_answer(answer(200, {"tenant": {}, "user": {}, "token": {}}))


def test_the_check_refuses_a_401_without_its_challenge():
    with pytest.raises(AssertionError, match="answered 401 without WWW-Authenticate"):
        check_answer(answer(401, {"detail": "No token."}))


def test_the_check_takes_the_route_django_resolved_not_a_lookalike():
    """report-leak would fill /api/v1/tokens/{id}/ if paths were matched by pattern alone."""
    not_allowed = {"detail": "Method GET is not allowed here."}
    check_answer(answer(405, not_allowed, "/api/v1/tokens/report-leak/"))


def test_real_responses_match_the_document(document, issue, full_admin, reader):
    """Each documented status of the tokens endpoints, produced; conftest checks each."""
    TokenFactory.create_batch(3, owner=full_admin)
    target = TokenFactory(owner=reader)
    _, admin_secret = issue(full_admin)
    _, reader_secret = issue(reader)
    admin, read_only, anonymous = api_client(admin_secret), api_client(reader_secret), api_client()
    item = f"/api/v1/tokens/{target.pk}/"
    calls = [
        admin.get("/api/v1/me/"),
        anonymous.get("/api/v1/me/"),
        admin.get("/api/v1/tokens/", {"page_size": 2}),
        admin.get("/api/v1/tokens/", {"page": 2, "page_size": 2}),
        admin.get("/api/v1/tokens/", {"status": "x"}),
        admin.get("/api/v1/tokens/", {"page": 99}),
        admin.get(item),
        read_only.get(item),
        read_only.delete(item),
        admin.delete(item),
        admin.delete(item),
    ]
    assert [r.status_code for r in calls] == [200, 401, 200, 200, 400, 404, 200, 200, 403, 204, 404]


def test_audit_and_heartbeat_answers_match_the_document(
    document, issue, signed_in, full_admin, operator
):
    UUID = {"type": "string", "format": "uuid"}
    assert document["components"]["schemas"]["AuditEvent"]["properties"]["id"] == UUID
    siem = revealed_value(
        signed_in(full_admin).post(
            "/settings/security-extensions/siem-agents/new/",
            {"name": "Splunk", "format": "cef", "host": "siem.example.com", "port": "514"},
        )
    )
    # Every action and channel the audit trail records is documented (SCIM's too).
    audit_record(tenant=full_admin.tenant, action="user.provisioned", via="scim", subject=operator)
    _, admin_secret = issue(full_admin)
    _, operator_secret = issue(operator)
    admin, beat = api_client(admin_secret), "/api/v1/siem/heartbeat/"
    calls = [
        admin.get("/api/v1/audit/"),
        admin.get("/api/v1/audit/", {"since": "x"}),
        api_client(operator_secret).get("/api/v1/audit/"),
        api_client(siem).post(beat, content_type="application/json"),
        admin.post(beat),
    ]
    assert [r.status_code for r in calls] == [200, 400, 403, 200, 403]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 200),
        ({"version": "0.1.0"}, 200),
        ({"version": "1.0.0-rc.1+build_7", "cursor": None, "hostname": "ignored"}, 200),
        ({"version": ""}, 400),
        ({"version": "0.1 beta"}, 400),
        ({"version": "x" * 41}, 400),
        ({"version": 1}, 400),
        ({"cursor": 1}, 400),
        ([], 400),
    ],
)
def test_the_siem_heartbeat_body_is_documented_as_it_is_taken(
    document, signed_in, full_admin, body, status
):
    """The documented request schema accepts exactly the bodies the heartbeat takes (the
    cursor's content aside: only the feed knows its cursors); each answer is checked too."""
    schema = {
        **document["paths"]["/api/v1/siem/heartbeat/"]["post"]["requestBody"]["content"][
            "application/json"
        ]["schema"],
        "components": document["components"],
    }
    siem = revealed_value(
        signed_in(full_admin).post(
            "/settings/security-extensions/siem-agents/new/",
            {"name": "Splunk", "format": "cef", "host": "siem.example.com", "port": "514"},
        )
    )
    answer = api_client(siem).post("/api/v1/siem/heartbeat/", body, content_type="application/json")
    assert answer.status_code == status
    valid = jsonschema.Draft202012Validator(schema).is_valid(body)
    assert valid == (status == 200)


def test_a_path_or_schema_two_apps_declare_is_refused():
    with pytest.raises(ValueError, match="Token is declared twice"):
        merged({"Token": {}}, {"Token": {"type": "object"}})
