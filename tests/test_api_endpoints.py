from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from tenants.models import Role
from tenants.services import user_set_role
from tests.api import api_client
from tests.factories import TokenFactory, UserFactory
from tokens.models import Token, TokenKind, TokenStatus

TOKENS = "/api/v1/tokens/"


def detail(token):
    return f"/api/v1/tokens/{token.pk}/"


def test_me_describes_tenant_user_and_token(issue, reader, settings):
    settings.PORTAL_PORT = "8000"
    token, secret = issue(reader, name="dashboards")
    assert api_client(secret).get("/api/v1/me/").json() == {
        "tenant": {
            "slug": "contoso",
            "name": "Contoso",
            "url": "http://contoso.us.portal.localhost:8000/",
        },
        "user": {"email": "reader@contoso.test", "role": "security_reader"},
        "token": {
            "id": str(token.pk),
            "name": "dashboards",
            "access": "read_only",
            "allowed_networks": [],
        },
    }


def test_a_token_is_listed_with_every_contract_field(issue, operator):
    token, secret = issue(operator, name="CI")
    body = api_client(secret).get(TOKENS).json()
    assert body["count"] == 1 and body["next"] is None and body["previous"] is None
    (item,) = body["results"]
    token.refresh_from_db()
    assert item == {
        "id": str(token.pk),
        "name": "CI",
        "status": "active",  # the listing call itself was a use
        "created_at": token.created_at.isoformat().replace("+00:00", "Z"),
        "last_used_at": token.last_used_at.isoformat().replace("+00:00", "Z"),
        "owner": "operator@contoso.test",
        "service_account": None,
        "access": "read_write",
        "allowed_networks": [],
        "suspended_at": None,
    }


def test_a_never_used_token_has_null_last_use(issue, operator):
    other = TokenFactory(owner=operator)
    _, secret = issue(operator)
    body = api_client(secret).get(detail(other)).json()
    assert body["last_used_at"] is None and body["status"] == "generated"


def test_visibility_matches_the_page(issue, full_admin, operator, reader, other_tenant_admin):
    for owner in (full_admin, operator, reader, other_tenant_admin):
        TokenFactory(owner=owner, name=f"of {owner.email}")
    TokenFactory(owner=full_admin, kind=TokenKind.SIEM, name="siem")
    TokenFactory(owner=full_admin, revoked_at=timezone.now(), name="revoked")
    seen = {}
    for user in (full_admin, operator, reader):
        _, secret = issue(user, name="caller")
        results = api_client(secret).get(TOKENS).json()["results"]
        seen[user.email] = sorted(r["name"] for r in results if r["name"] != "caller")
    assert seen == {
        "admin@contoso.test": [
            "of admin@contoso.test",
            "of operator@contoso.test",
            "of reader@contoso.test",
        ],
        "operator@contoso.test": ["of operator@contoso.test"],
        "reader@contoso.test": ["of reader@contoso.test"],
    }


@pytest.mark.parametrize("status", TokenStatus.values)
def test_the_status_filter_matches_the_page(issue, operator, status):
    now = timezone.now()
    TokenFactory(owner=operator, name="inactive", last_used_at=now - timedelta(days=9))
    TokenFactory(owner=operator, name="generated")
    TokenFactory(owner=operator, name="expired", expires_at=now - timedelta(days=1))
    TokenFactory(owner=operator, name="suspended", last_used_at=now, suspended_at=now)
    _, secret = issue(operator, name="active")
    results = api_client(secret).get(TOKENS, {"status": status}).json()["results"]
    assert [r["name"] for r in results] == [status]


def test_pages_link_to_each_other(issue, operator):
    TokenFactory.create_batch(4, owner=operator)
    _, secret = issue(operator)
    client = api_client(secret, host=operator.tenant.host)
    first = client.get(TOKENS, {"page_size": 2, "status": "all"}).json()
    assert first["count"] == 5 and len(first["results"]) == 2
    assert first["previous"] is None
    assert first["next"].startswith("http://contoso.us.portal.localhost/api/v1/tokens/?")
    assert parse_qs(urlsplit(first["next"]).query) == {
        "status": ["all"],
        "page": ["2"],
        "page_size": ["2"],
    }
    second = client.get(first["next"]).json()
    assert parse_qs(urlsplit(second["previous"]).query)["page"] == ["1"]
    last = client.get(second["next"]).json()
    assert len(last["results"]) == 1 and last["next"] is None
    ids = [r["id"] for page in (first, second, last) for r in page["results"]]
    assert len(set(ids)) == 5


@pytest.mark.parametrize(
    ("query", "detail_start"),
    [
        ({"status": "bogus"}, "status: Unknown status “bogus”"),
        ({"page": "0"}, "page:"),
        ({"page": "-3"}, "page:"),
        ({"page": "abc"}, "page: Enter a whole number"),
        ({"page": "9" * 40}, "page:"),
        ({"page_size": "0"}, "page_size:"),
        ({"page_size": "1000"}, "page_size:"),
        ({"status": "\x00"}, "status: Unknown status"),
    ],
)
def test_bad_query_parameters_are_400_json(issue, operator, query, detail_start):
    _, secret = issue(operator)
    response = api_client(secret).get(TOKENS, query)
    assert response.status_code == 400
    assert response.json()["detail"].startswith(detail_start)


def test_a_page_past_the_end_is_404(issue, operator):
    _, secret = issue(operator)
    response = api_client(secret).get(TOKENS, {"page": 2})
    assert response.status_code == 404
    assert "does not exist" in response.json()["detail"]


def test_one_token_can_be_read(issue, operator):
    token = TokenFactory(owner=operator, name="other")
    _, secret = issue(operator)
    assert api_client(secret).get(detail(token)).json()["name"] == "other"


@pytest.mark.parametrize("method", ["get", "delete"])
def test_tokens_the_owner_may_not_see_are_404(issue, tenant, operator, other_tenant_admin, method):
    _, secret = issue(operator)
    colleague = TokenFactory(owner=UserFactory(tenant=tenant))
    outsider = TokenFactory(owner=other_tenant_admin)
    revoked = TokenFactory(owner=operator, revoked_at=timezone.now())
    siem = TokenFactory(owner=operator, kind=TokenKind.SIEM)
    client = api_client(secret)
    for token in (colleague, outsider, revoked, siem):
        response = getattr(client, method)(detail(token))
        assert response.status_code == 404
        assert response.json() == {"detail": "No such token."}
    assert Token.objects.filter(revoked_at__isnull=True).count() == 4


def test_a_full_admin_token_revokes_any_token_of_the_tenant(issue, full_admin, reader):
    victim = TokenFactory(owner=reader)
    _, secret = issue(full_admin)
    response = api_client(secret).delete(detail(victim))
    assert response.status_code == 204 and response.content == b""
    victim.refresh_from_db()
    assert victim.revoked_by == full_admin


def test_a_token_may_revoke_itself_and_then_fails(issue, operator):
    token, secret = issue(operator)
    client = api_client(secret)
    assert client.delete(detail(token)).status_code == 204
    assert client.get("/api/v1/me/").status_code == 401


def test_a_readers_token_reads_but_cannot_revoke(issue, reader):
    token, secret = issue(reader)
    client = api_client(secret)
    assert client.get(detail(token)).status_code == 200
    response = client.delete(detail(token))
    assert response.status_code == 403
    assert "read-only" in response.json()["detail"]
    token.refresh_from_db()
    assert token.revoked_at is None


def test_demoting_the_owner_removes_write_access_at_once(issue, operator):
    token, secret = issue(operator)
    client = api_client(secret)
    user_set_role(user=operator, role=Role.SECURITY_READER)
    assert client.delete(detail(token)).status_code == 403
    user_set_role(user=operator, role=Role.SECURITY_OPERATOR)
    assert client.delete(detail(token)).status_code == 204


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_writes_with_a_readers_token_are_403_on_every_path(issue, reader, method):
    _, secret = issue(reader)
    response = getattr(api_client(secret), method)("/api/v1/me/")
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("post", "/api/v1/me/", "GET, HEAD"),
        ("put", "/api/v1/tokens/", "GET, HEAD"),
        ("put", "/api/v1/tokens/00000000-0000-0000-0000-000000000000/", "GET, PATCH, DELETE, HEAD"),
    ],
)
def test_wrong_methods_are_405_with_allow(issue, operator, method, path, allow):
    _, secret = issue(operator)
    response = getattr(api_client(secret), method)(path)
    assert response.status_code == 405
    assert response["Allow"] == allow
    assert "not allowed" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/api/v1/tokens/not-a-uuid/", "/api/v1/tokens/1/"])
def test_malformed_ids_are_json_404(issue, operator, path):
    _, secret = issue(operator)
    response = api_client(secret).get(path)
    assert response.status_code == 404
    assert "detail" in response.json()


def test_api_responses_are_not_cached(issue, operator):
    _, secret = issue(operator)
    directives = api_client(secret).get(TOKENS)["Cache-Control"].split(", ")
    assert sorted(directives) == ["no-store", "private"]


def test_the_openapi_document_needs_no_token(db):
    response = api_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.1")


def test_the_total_is_counted_once_then_cached_until_tokens_change(issue, operator):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _, secret = issue(operator)
    client = api_client(secret)
    client.get(TOKENS)
    client.get(TOKENS)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(TOKENS).json()["count"] == 1
    assert not any("COUNT(" in q["sql"] for q in queries)
    TokenFactory(owner=operator)
    assert client.get(TOKENS).json()["count"] == 2
