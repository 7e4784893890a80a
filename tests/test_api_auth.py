from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.api import api_client
from tokens import crypto
from tokens.models import Token, TokenKind
from tokens.services import token_revoke

ME = "/api/v1/me/"


def assert_401(response, detail):
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": detail}


def test_a_valid_token_authenticates(issue, operator):
    _, secret = issue(operator)
    response = api_client(secret).get(ME)
    assert response.status_code == 200
    assert response.json()["user"] == {"email": operator.email, "role": "security_operator"}


@pytest.mark.parametrize("scheme", ["Token", "token", "TOKEN", "Bearer", "bearer"])
def test_token_and_bearer_schemes_are_accepted_in_any_case(issue, operator, scheme):
    _, secret = issue(operator)
    assert api_client(secret, scheme=scheme).get(ME).status_code == 200


def test_a_missing_header_is_401(db):
    assert_401(
        api_client().get(ME),
        "Authentication credentials were not provided. Send 'Authorization: Token <token>'.",
    )


MALFORMED = "Malformed Authorization header. Send exactly 'Authorization: Token <token>'."


@pytest.mark.parametrize(
    "header",
    [
        "Token",
        "Token ",
        "Basic dXNlcjpwYXNz",
        "Token a b",
        "atp_onlythevalue",
        "Token\tatp_x extra",
        "X" * 8192,
        "Token " + "a" * 8192,
    ],
)
def test_malformed_headers_are_401_without_a_query(db, header):
    client = api_client()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(ME, HTTP_AUTHORIZATION=header)
    assert_401(response, MALFORMED)
    assert len(queries) == 0


def test_two_header_values_joined_by_a_comma_are_malformed(issue, operator):
    _, secret = issue(operator)
    response = api_client().get(ME, HTTP_AUTHORIZATION=f"Token {secret}, Token {secret}")
    assert_401(response, MALFORMED)


@pytest.mark.parametrize(
    "value",
    ["atp_" + "a" * 42, "ghp_" + "a" * 42, "atp_é" + "a" * 41, "atp_" + "\x00" * 42, "null"],
)
def test_values_failing_shape_or_checksum_are_401_without_a_query(db, value):
    with CaptureQueriesContext(connection) as queries:
        response = api_client(value).get(ME)
    assert_401(response, "Invalid token.")
    assert len(queries) == 0


def test_a_near_valid_token_one_character_off_is_refused(issue, operator):
    _, secret = issue(operator)
    near = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    assert_401(api_client(near).get(ME), "Invalid token.")


def test_a_well_formed_unknown_token_is_401(db):
    assert_401(api_client(crypto.generate()).get(ME), "Invalid token.")


def test_a_non_ascii_header_is_401_not_500(db):
    response = api_client().get(ME, HTTP_AUTHORIZATION="Token atp_ünïcödé")
    assert_401(response, "Invalid token.")


def test_a_revoked_token_fails_on_its_very_next_call(issue, operator):
    token, secret = issue(operator)
    client = api_client(secret)
    assert client.get(ME).status_code == 200
    token_revoke(token=token, by=operator)
    assert_401(client.get(ME), "This token has been revoked.")


def test_a_deprovisioned_owners_token_is_403_permission_denied(issue, operator):
    _, secret = issue(operator)
    operator.deprovision()
    response = api_client(secret).get(ME)
    assert response.status_code == 403
    assert response.json() == {"detail": "permission denied"}


def test_a_token_of_another_tenant_is_refused_on_a_custom_host(issue, operator, other_tenant):
    _, secret = issue(operator)
    assert_401(api_client(secret, host=other_tenant.host).get(ME), "Invalid token.")


def test_a_token_works_on_its_own_custom_host_and_the_generic_host(issue, operator):
    _, secret = issue(operator)
    for host in (operator.tenant.host, "portal.localhost", "localhost", "127.0.0.1"):
        assert api_client(secret, host=host).get(ME).status_code == 200


def test_the_generic_host_takes_the_tenant_from_the_token(issue, operator, other_tenant_admin):
    _, secret = issue(other_tenant_admin)
    body = api_client(secret).get(ME).json()
    assert body["tenant"]["slug"] == "fabrikam"


def test_a_session_cookie_is_not_accepted_under_api(signed_in, operator):
    client = signed_in(operator)
    assert client.get("/about/").status_code == 200
    assert_401(
        client.get(ME),
        "Authentication credentials were not provided. Send 'Authorization: Token <token>'.",
    )


def test_a_session_does_not_change_who_the_token_is(signed_in, issue, full_admin, reader):
    _, secret = issue(reader)
    client = signed_in(full_admin)
    response = client.get(ME, HTTP_AUTHORIZATION=f"Token {secret}")
    assert response.json()["user"]["email"] == reader.email


@pytest.mark.parametrize("kind", [TokenKind.SIEM, TokenKind.LOG_COLLECTOR])
def test_tokens_of_other_kinds_are_403_on_the_api(issue, full_admin, kind):
    _, secret = issue(full_admin, kind=kind)
    response = api_client(secret).get(ME)
    assert response.status_code == 403


def test_no_csrf_applies_to_the_api(issue, operator):
    token, secret = issue(operator)
    client = api_client(secret)
    client.handler.enforce_csrf_checks = True
    assert client.delete(f"/api/v1/tokens/{token.pk}/").status_code == 204


def test_an_authenticated_call_costs_one_query_and_no_write_when_recently_used(issue, operator):
    token, secret = issue(operator)
    Token.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    client = api_client(secret)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(ME).status_code == 200
    assert len(queries) == 1
    assert not any(q["sql"].startswith("UPDATE") for q in queries)


def test_first_use_is_recorded_at_once(issue, operator):
    token, secret = issue(operator)
    api_client(secret).get(ME)
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert token.status == "active"


def test_a_burst_of_calls_writes_last_use_once(issue, operator):
    token, secret = issue(operator)
    client = api_client(secret)
    with CaptureQueriesContext(connection) as queries:
        for _ in range(50):
            assert client.get(ME).status_code == 200
    assert sum(q["sql"].startswith("UPDATE") for q in queries) == 1


def test_last_use_is_written_again_after_the_resolution(issue, operator, settings):
    settings.TOKEN_LAST_USED_RESOLUTION = 60
    token, secret = issue(operator)
    stale = timezone.now() - timedelta(seconds=61)
    Token.objects.filter(pk=token.pk).update(last_used_at=stale)
    api_client(secret).get(ME)
    token.refresh_from_db()
    assert token.last_used_at > stale


def test_last_use_never_moves_backwards(issue, operator):
    from tokens.usage import record_use

    token, _ = issue(operator)
    later = timezone.now() + timedelta(minutes=5)
    Token.objects.filter(pk=token.pk).update(last_used_at=later)
    token.last_used_at = None  # a stale in-memory copy, as another worker would hold
    record_use(token)
    token.refresh_from_db()
    assert token.last_used_at == later


def test_a_failed_call_records_no_use(issue, operator):
    token, secret = issue(operator)
    operator.deprovision()
    api_client(secret).get(ME)
    token.refresh_from_db()
    assert token.last_used_at is None


def test_unknown_api_paths_are_json_404(issue, operator):
    _, secret = issue(operator)
    response = api_client(secret).get("/api/v1/nothing/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_the_plaintext_is_never_logged(issue, operator, caplog):
    _, secret = issue(operator)
    with caplog.at_level("DEBUG"):
        api_client(secret).get(ME)
        api_client(secret[:-1] + "x").get(ME)
        api_client(secret).get("/api/v1/nothing/")
    assert secret not in caplog.text
    assert secret[:-1] not in caplog.text
