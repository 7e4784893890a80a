import jsonschema
import pytest
from openapi_spec_validator import validate

from audit.services import audit_record
from tests.api import api_client
from tests.factories import TokenFactory
from tests.pages import revealed_value


@pytest.fixture
def document(db):
    return api_client().get("/api/v1/openapi.json").json()


def test_the_document_is_valid_openapi_3_1(document):
    validate(document)


def test_every_api_route_is_documented(document):
    from portal.api_urls import urlpatterns

    documented = set(document["paths"])
    routed = {"/api/" + str(p.pattern).replace("<uuid:token_id>", "{id}") for p in urlpatterns}
    assert routed == documented


def check(document, response, path, method):
    operation = document["paths"][path][method]
    status = str(response.status_code)
    assert status in operation["responses"], f"{method} {path} answered undocumented {status}"
    content = operation["responses"][status].get("content")
    if content:
        schema = {**content["application/json"]["schema"], "components": document["components"]}
        # Formats too: an id documented as a uuid must be one.
        validator = jsonschema.Draft202012Validator
        jsonschema.validate(
            response.json(), schema, cls=validator, format_checker=validator.FORMAT_CHECKER
        )


def test_real_responses_match_the_document(document, issue, full_admin, reader):
    TokenFactory.create_batch(3, owner=full_admin)
    target = TokenFactory(owner=reader)
    _, admin_secret = issue(full_admin)
    _, reader_secret = issue(reader)
    admin, read_only, anonymous = api_client(admin_secret), api_client(reader_secret), api_client()
    item = "/api/v1/tokens/{id}/"
    calls = [
        (admin.get("/api/v1/me/"), "/api/v1/me/", "get"),
        (anonymous.get("/api/v1/me/"), "/api/v1/me/", "get"),
        (admin.get("/api/v1/tokens/", {"page_size": 2}), "/api/v1/tokens/", "get"),
        (admin.get("/api/v1/tokens/", {"page": 2, "page_size": 2}), "/api/v1/tokens/", "get"),
        (admin.get("/api/v1/tokens/", {"status": "x"}), "/api/v1/tokens/", "get"),
        (admin.get("/api/v1/tokens/", {"page": 99}), "/api/v1/tokens/", "get"),
        (admin.get(f"/api/v1/tokens/{target.pk}/"), item, "get"),
        (read_only.get(f"/api/v1/tokens/{target.pk}/"), item, "get"),
        (read_only.delete(f"/api/v1/tokens/{target.pk}/"), item, "delete"),
        (admin.delete(f"/api/v1/tokens/{target.pk}/"), item, "delete"),
        (admin.delete(f"/api/v1/tokens/{target.pk}/"), item, "delete"),
    ]
    for response, path, method in calls:
        check(document, response, path, method)
    assert [r.status_code for r, _, _ in calls] == [
        200,
        401,
        200,
        200,
        400,
        404,
        200,
        200,
        403,
        204,
        404,
    ]


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
        (admin.get("/api/v1/audit/"), "/api/v1/audit/", 200),
        (admin.get("/api/v1/audit/", {"since": "x"}), "/api/v1/audit/", 400),
        (api_client(operator_secret).get("/api/v1/audit/"), "/api/v1/audit/", 403),
        (api_client(siem).post(beat), beat, 200),
        (admin.post(beat), beat, 403),
    ]
    for response, path, status in calls:
        assert response.status_code == status, path
        check(document, response, path, "get" if path.startswith("/api/v1/audit") else "post")
