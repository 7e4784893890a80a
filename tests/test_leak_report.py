import pytest

from audit.models import AuditEvent
from tests.api import api_client
from tokens import crypto
from tokens.models import Token, TokenKind

URL = "/api/v1/tokens/report-leak/"


def report(body, client=None, **extra):
    client = client or api_client()
    return client.post(URL, body, content_type="application/json", **extra)


def test_reporting_a_live_token_revokes_it_and_audits_it(issue, operator):
    token, secret = issue(operator)
    response = report({"token": secret}, REMOTE_ADDR="198.51.100.4")
    assert response.status_code == 202
    token.refresh_from_db()
    assert token.revoked_at is not None
    event = AuditEvent.objects.get(action="token.revoked")
    assert event.via == "leak_report" and event.client_ip == "198.51.100.4"
    assert api_client(secret).get("/api/v1/me/").status_code == 401


@pytest.mark.parametrize(
    "value", [crypto.generate(), "atp_" + "a" * 42, "not a token", "", "x" * 100_000]
)
def test_the_answer_is_the_same_whether_or_not_the_token_exists(issue, operator, value):
    _, secret = issue(operator)
    real = report({"token": secret})
    other = report({"token": value})
    assert real.status_code == other.status_code == 202
    assert real.json() == other.json()


def test_no_authentication_is_needed_and_a_session_changes_nothing(signed_in, issue, operator):
    _, secret = issue(operator)
    assert report({"token": secret}, client=signed_in(operator)).status_code == 202


def test_reporting_a_revoked_token_again_is_harmless(issue, operator):
    token, secret = issue(operator)
    report({"token": secret})
    assert report({"token": secret}).status_code == 202
    assert AuditEvent.objects.filter(action="token.revoked").count() == 1


def test_tokens_of_every_kind_are_revoked(issue, full_admin):
    token, secret = issue(full_admin, kind=TokenKind.SIEM)
    report({"token": secret})
    assert Token.objects.get(pk=token.pk).revoked_at is not None


@pytest.mark.parametrize("body", ["not json", "[1, 2]", '{"token": 5}', "{}", '"atp_x"'])
def test_malformed_bodies_are_400(db, body):
    response = api_client().post(URL, body, content_type="application/json")
    assert response.status_code == 400
    assert "token" in response.json()["detail"]


@pytest.mark.parametrize("opening", ["[", '{"token": '])
def test_deeply_nested_bodies_are_a_clear_400(db, opening):
    closing = "]" if opening == "[" else "}"
    body = opening * 100_000 + "1" + closing * 100_000
    response = api_client().post(URL, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("The JSON body is nested too deeply.")


def test_non_utf8_bodies_are_400(db):
    response = api_client().post(URL, b"\xff\xfe{", content_type="application/json")
    assert response.status_code == 400


def test_reports_are_rate_limited_per_client_address(db, settings):
    settings.LEAK_REPORT_RATE = 3
    client = api_client()
    codes = [
        report({"token": "x"}, client=client, REMOTE_ADDR="203.0.113.9").status_code
        for _ in range(4)
    ]
    assert codes == [202, 202, 202, 429]
    limited = report({"token": "x"}, client=client, REMOTE_ADDR="203.0.113.9")
    assert int(limited["Retry-After"]) >= 1
    assert report({"token": "x"}, client=client, REMOTE_ADDR="203.0.113.10").status_code == 202


def test_only_post_is_allowed(db):
    response = api_client().get(URL)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
