"""Rotation with overlap (CONTRACT §15, issue 28 items 3 and 4): the old secret works until the
earlier of the new secret's first successful call and the overlap's end; a lost answer is no
outage; the old secret used after the new one is refused, audited, flagged and in the SIEM
feed, and the new one stays valid. The page, the API and `rotatetoken`."""

import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEvent
from tests.api import api_client
from tests.pages import revealed_value
from tokens import crypto
from tokens.models import Token, TokenAccess, TokenKind
from tokens.services import token_rotate
from web import invalidation

ME = "/api/v1/me/"
DAY = 24 * 3600
REPLACED = "This token value was replaced by a rotation and no longer works."


def rotate_api(secret, token, body=None, **extra):
    """POST /api/v1/tokens/{id}/rotate/ with secret, body as JSON (None: no body)."""
    data = "" if body is None else json.dumps(body)
    return api_client(secret).post(
        f"/api/v1/tokens/{token.pk}/rotate/", data, content_type="application/json", **extra
    )


def rotate_page_url(token):
    return f"/settings/security-extensions/api-tokens/{token.pk}/rotate/"


def status(secret, **extra):
    return api_client(secret).get(ME, **extra).status_code


def stored(token):
    return Token.objects.get(pk=token.pk)


# --- The overlap --------------------------------------------------------------------------


def test_the_old_secret_works_during_the_overlap_and_the_answer_carries_the_new_one(
    issue, operator
):
    token, old = issue(operator, name="CI")
    before = timezone.now()
    answer = rotate_api(old, token)  # the token rotates itself, with the default overlap
    assert answer.status_code == 200
    body = answer.json()
    new = body["secret"]
    assert crypto.is_well_formed(new) and new != old
    assert body["id"] == str(token.pk) and body["name"] == "CI"
    until = stored(token).previous_valid_until
    assert timedelta(hours=24) <= until - before <= timedelta(hours=24, minutes=1)
    assert body["previous_valid_until"] == until.isoformat().replace("+00:00", "Z")
    for _ in range(3):
        assert status(old) == 200
    assert stored(token).is_rotating


def test_the_new_secrets_first_call_ends_the_old_one(issue, operator):
    token, old = issue(operator)
    new = rotate_api(old, token).json()["secret"]
    assert status(old) == 200
    assert status(new) == 200  # its first successful call
    assert stored(token).successor_used_at is not None
    assert not stored(token).is_rotating
    response = api_client(old).get(ME)
    assert response.status_code == 401 and response.json()["detail"] == REPLACED
    assert status(new) == 200


def test_the_overlaps_end_ends_the_old_one(issue, operator, monkeypatch):
    token, old = issue(operator)
    new = rotate_api(old, token, {"overlap": 3600}).json()["secret"]
    assert status(old) == 200
    later = timezone.now() + timedelta(hours=1, seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    response = api_client(old).get(ME)
    assert response.status_code == 401
    assert response.json()["detail"].startswith("This token value was replaced by a rotation;")
    # Never a reuse: the new secret was not used yet, so the old one was simply late.
    assert not AuditEvent.objects.filter(action="token.previous_secret_reused").exists()
    assert status(new) == 200


def test_a_rotation_by_the_previous_release_ends_the_old_secret(issue, operator):
    """During an upgrade the previous release, which knows no overlap, may rotate a token
    that is in one: it replaces digest, hint and rotated_at only, and means the secret before
    to stop at once. The replaced secret of the earlier rotation is not honoured then."""
    token, old = issue(operator)
    rotate_api(old, token, {"overlap": 3600})
    assert status(old) == 200
    theirs = crypto.generate()
    Token.objects.filter(pk=token.pk).update(
        digest=crypto.digest(theirs), hint=crypto.hint(theirs), rotated_at=timezone.now()
    )
    invalidation.announce(token.tenant_id)  # as the previous release's rotation does
    response = api_client(old).get(ME)
    assert response.status_code == 401 and response.json()["detail"] == REPLACED
    assert status(theirs) == 200
    assert stored(token).successor_used_at is None  # its first call is no successor's


def test_an_overlap_of_0_ends_the_old_secret_at_once(issue, operator):
    token, old = issue(operator)
    answer = rotate_api(old, token, {"overlap": 0})
    assert answer.status_code == 200
    assert status(old) == 401
    assert status(answer.json()["secret"]) == 200


def test_the_old_secret_rotating_again_replaces_the_unused_successor(issue, operator):
    """The first answer was lost: the consumer still has only the old secret."""
    token, old = issue(operator)
    lost = rotate_api(old, token, {"overlap": 3600}).json()["secret"]
    until = stored(token).previous_valid_until
    again = rotate_api(old, token, {"overlap": DAY})
    assert again.status_code == 200
    new = again.json()["secret"]
    assert status(lost) == 401  # the unused successor stops
    assert status(old) == 200  # the old secret still works, never for longer than before
    assert stored(token).previous_valid_until == until
    event = AuditEvent.objects.filter(token=token, action="token.rotated").first()
    assert "Replaced the unused new value" in event.detail and event.via == "api"
    assert status(new) == 200
    assert status(old) == 401


def test_once_the_successor_is_used_rotating_with_the_old_secret_is_refused(issue, operator):
    token, old = issue(operator)
    new = rotate_api(old, token).json()["secret"]
    assert status(new) == 200
    assert rotate_api(old, token).status_code == 401
    assert status(new) == 200


def test_the_old_secret_after_its_successors_use_is_refused_audited_flagged_and_fed(
    issue, operator, full_admin
):
    token, old = issue(operator, name="deploy")
    new = rotate_api(old, token).json()["secret"]
    assert status(new) == 200
    response = api_client(old).get(ME, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 401 and response.json()["detail"] == REPLACED
    event = AuditEvent.objects.get(action="token.previous_secret_reused")
    assert event.token_id == token.pk and event.client_ip == "203.0.113.9"
    flagged = stored(token)
    assert flagged.previous_reused_at is not None
    assert flagged.previous_reused_ip == "203.0.113.9"
    assert flagged.revoked_at is None
    assert status(new) == 200  # the successor is not revoked: a full admin decides
    # In the SIEM feed, with a high severity.
    _, agent = issue(full_admin, name="SIEM", kind=TokenKind.SIEM)
    feed = api_client(agent).get("/api/v1/siem/events/").json()["events"]
    [reused] = [e for e in feed if e["action"] == "token.previous_secret_reused"]
    assert reused["client_ip"] == "203.0.113.9" and reused["token"]["id"] == str(token.pk)
    assert reused["cef"].split("|")[6] == "9"


def test_a_reused_old_secret_is_shown_on_the_tokens_page(issue, signed_in, operator):
    token, old = issue(operator, name="deploy")
    new = rotate_api(old, token).json()["secret"]
    api_client(new).get(ME)
    api_client(old).get(ME, REMOTE_ADDR="203.0.113.9")
    html = signed_in(operator).get(f"/settings/security-extensions/api-tokens/{token.pk}/")
    assert "Old value reused" in html.content.decode()
    assert "203.0.113.9" in html.content.decode()


def test_a_leak_report_of_an_ended_old_secret_revokes_nothing(issue, operator):
    token, old = issue(operator)
    new = rotate_api(old, token).json()["secret"]
    api_client(new).get(ME)
    api_client().post(
        "/api/v1/tokens/report-leak/", {"token": old}, content_type="application/json"
    )
    assert stored(token).revoked_at is None
    assert status(new) == 200


def test_a_leak_report_of_an_old_secret_in_its_overlap_revokes_the_token(issue, operator):
    token, old = issue(operator)
    rotate_api(old, token)
    api_client().post(
        "/api/v1/tokens/report-leak/", {"token": old}, content_type="application/json"
    )
    assert stored(token).revoked_at is not None


# --- The hot path -------------------------------------------------------------------------


def warm(secret):
    client = api_client(secret)
    client.get(ME)  # first use: Active now, which makes the counts stale
    client.get(ME)
    return client


def test_a_cached_token_in_its_overlap_costs_no_query(issue, operator, caching):
    token, old = issue(operator)
    new = token_rotate(token=token, by=operator, overlap=timedelta(hours=1)).secret
    client = warm(old)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(ME).status_code == 200
    assert len(queries) == 0
    # The new secret's first call is the one write; after it, no query either.
    successor = warm(new)
    with CaptureQueriesContext(connection) as queries:
        assert successor.get(ME).status_code == 200
    assert len(queries) == 0


def test_the_new_secrets_first_call_writes_once(issue, operator, caching):
    token, old = issue(operator)
    new = token_rotate(token=token, by=operator, overlap=timedelta(hours=1)).secret
    client = api_client(new)
    with CaptureQueriesContext(connection) as first:
        assert client.get(ME).status_code == 200
    assert any("successor_used_at" in query["sql"] for query in first.captured_queries)
    client.get(ME)
    with CaptureQueriesContext(connection) as later:
        assert client.get(ME).status_code == 200
    assert not any("successor_used_at" in query["sql"] for query in later.captured_queries)


# --- The API ------------------------------------------------------------------------------

BAD_OVERLAPS = {
    "negative": -1,
    "over-7-days": 7 * DAY + 1,
    "string": "3600",
    "float": 3600.5,
    "huge": 10**30,
    "huge-float": 1e300,
    "null": None,
    "true": True,
    "list": [3600],
}


@pytest.mark.parametrize("value", BAD_OVERLAPS.values(), ids=BAD_OVERLAPS.keys())
def test_a_bad_overlap_is_a_400_that_changes_nothing(issue, operator, value):
    token, old = issue(operator)
    response = rotate_api(old, token, {"overlap": value})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("overlap: send a whole number of seconds")
    assert stored(token).rotated_at is None and status(old) == 200


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        ("{", "The body is not valid JSON."),
        ("[1]", 'Send no body, or JSON like {"overlap": 3600}.'),
        ('{"overlap": 60, "secret": "x"}', "Unknown field “secret”."),
    ],
)
def test_a_body_that_is_no_rotation_is_a_400(issue, operator, data, detail):
    token, old = issue(operator)
    response = api_client(old).post(
        f"/api/v1/tokens/{token.pk}/rotate/", data, content_type="application/json"
    )
    assert response.status_code == 400 and detail in response.json()["detail"]
    assert stored(token).rotated_at is None


def test_a_whole_number_written_as_a_decimal_is_a_whole_number(issue, operator):
    """JSON Schema's integer, which the OpenAPI document states, takes 3600.0."""
    token, old = issue(operator)
    assert rotate_api(old, token, {"overlap": 3600.0}).status_code == 200
    assert stored(token).previous_valid_until - stored(token).rotated_at == timedelta(hours=1)


def test_the_largest_overlap_is_7_days(issue, operator):
    token, old = issue(operator)
    assert rotate_api(old, token, {"overlap": 7 * DAY}).status_code == 200
    assert stored(token).previous_valid_until - stored(token).rotated_at == timedelta(days=7)


def test_a_token_rotates_another_of_its_owners_tokens_as_the_page_would(issue, operator):
    other, other_old = issue(operator, name="other")
    _, caller = issue(operator, name="caller")
    response = rotate_api(caller, other, {"overlap": 0})
    assert response.status_code == 200
    assert status(other_old) == 401 and status(response.json()["secret"]) == 200
    assert AuditEvent.objects.filter(token=other, action="token.rotated", via="api").exists()


def test_only_the_owners_tokens_rotate_a_token(issue, operator, full_admin, other_tenant_admin):
    token, _ = issue(operator)
    _, admin = issue(full_admin)  # may see it, but only the owner rotates (as on the page)
    _, outsider = issue(other_tenant_admin)
    assert rotate_api(admin, token).status_code == 404
    assert rotate_api(outsider, token).status_code == 404
    assert stored(token).rotated_at is None


def test_a_read_only_token_rotates_itself_but_no_other_token(issue, operator, reader):
    token, secret = issue(operator, access=TokenAccess.READ_ONLY)
    other, _ = issue(operator, name="writable")
    refused = rotate_api(secret, other)
    assert refused.status_code == 403 and "read only" in refused.json()["detail"]
    assert rotate_api(secret, token).status_code == 200
    # A reader's token too: rotating itself takes no right.
    mine, readers = issue(reader)
    assert rotate_api(readers, mine).status_code == 200


def test_a_token_does_not_hand_out_a_secret_that_reaches_further_than_itself(issue, operator):
    anywhere, _ = issue(operator, name="anywhere")
    _, narrow = issue(operator, name="narrow", allowed_networks=["127.0.0.0/8"])
    assert rotate_api(narrow, anywhere).status_code == 404
    assert stored(anywhere).rotated_at is None


# --- The page -----------------------------------------------------------------------------


def test_the_page_keeps_the_old_secret_for_24_hours_by_default(signed_in, issue, operator):
    token, old = issue(operator, name="CI")
    response = signed_in(operator).post(rotate_page_url(token))
    assert response.status_code == 200
    html = response.content.decode()
    assert "the old value works until" in html and "first use" in html
    assert status(old) == 200
    assert stored(token).previous_valid_until - stored(token).rotated_at == timedelta(hours=24)
    new = revealed_value(response)
    assert status(new) == 200 and status(old) == 401


@pytest.mark.parametrize(("choice", "hours"), [("3600", 1), ("604800", 168)])
def test_the_page_rotates_with_the_overlap_picked(signed_in, issue, operator, choice, hours):
    token, old = issue(operator)
    signed_in(operator).post(rotate_page_url(token), {"overlap": choice})
    rotated = stored(token)
    assert rotated.previous_valid_until - rotated.rotated_at == timedelta(hours=hours)
    assert status(old) == 200


def test_the_page_refuses_an_overlap_it_does_not_offer(signed_in, issue, operator):
    token, old = issue(operator)
    response = signed_in(operator).post(rotate_page_url(token), {"overlap": "999999"})
    assert response.status_code == 400
    assert stored(token).rotated_at is None and status(old) == 200


def test_the_confirmation_offers_the_overlaps_with_24_hours_chosen(signed_in, operator, issue):
    token, _ = issue(operator)
    html = signed_in(operator).get(rotate_page_url(token)).content.decode()
    for label in ("At once", "After 1 hour", "After 24 hours", "After 7 days"):
        assert label in html
    assert '<option value="86400" selected>After 24 hours</option>' in html
    # The dialogs of the list and the token's page offer the same.
    listing = signed_in(operator).get("/settings/security-extensions/api-tokens/")
    assert '<option value="86400" selected>After 24 hours</option>' in listing.content.decode()


def test_the_table_and_the_tokens_page_say_a_token_is_rotating(signed_in, issue, operator):
    token, old = issue(operator, name="CI")
    token_rotate(token=token, by=operator, overlap=timedelta(hours=1))
    until = f"{stored(token).previous_valid_until:%Y-%m-%d %H:%M}"
    client = signed_in(operator)
    for url in (
        "/settings/security-extensions/api-tokens/",
        f"/settings/security-extensions/api-tokens/{token.pk}/",
    ):
        html = client.get(url).content.decode()
        assert "Rotating — old secret valid until" in html and until in html
        assert "or its successor’s first use" in html
    api_client(old).get(ME)  # the old secret in use changes nothing
    assert "Rotating —" in client.get("/settings/security-extensions/api-tokens/").content.decode()


def test_the_rotating_note_goes_once_the_successor_is_used(signed_in, issue, operator):
    token, _ = issue(operator, name="CI")
    new = token_rotate(token=token, by=operator, overlap=timedelta(hours=1)).secret
    api_client(new).get(ME)
    html = signed_in(operator).get("/settings/security-extensions/api-tokens/").content.decode()
    assert "Rotating —" not in html


# --- The command --------------------------------------------------------------------------


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_rotatetoken_prints_only_the_new_secret_and_keeps_the_old_one(issue, operator):
    token, old = issue(operator, name="CI")
    new = run("rotatetoken", operator.email, "--name", "CI").strip()
    assert crypto.is_well_formed(new) and new != old
    assert status(old) == 200
    rotated = stored(token)
    assert rotated.previous_valid_until - rotated.rotated_at == timedelta(hours=24)
    assert rotated.audit_events.filter(action="token.rotated", via="command").exists()
    assert status(new) == 200 and status(old) == 401


def test_rotatetoken_with_no_overlap_ends_the_old_secret_at_once(issue, operator):
    _, old = issue(operator, name="CI")
    new = run("rotatetoken", operator.email, "--name", "CI", "--overlap", "0").strip()
    assert status(old) == 401 and status(new) == 200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "CI", "--overlap", "-1"], "--overlap must be a whole number of seconds"),
        (["--name", "CI", "--overlap", "604801"], "--overlap must be a whole number of seconds"),
        (["--name", "CI", "--overlap", "1e3"], "invalid int value"),
        (["--name", "CI", "--overlap", "9" * 400], "--overlap must be a whole number of seconds"),
        (["--name", "nope"], "has no live API token named 'nope'"),
        (["--name", "twice"], "several live API tokens named 'twice'"),
    ],
)
def test_rotatetoken_refuses_bad_input_with_one_line(issue, operator, args, message):
    issue(operator, name="CI")
    issue(operator, name="twice")
    issue(operator, name="twice")
    with pytest.raises(CommandError) as refused:
        run("rotatetoken", operator.email, *args)
    assert message in str(refused.value)
    assert "\n" not in str(refused.value) and len(str(refused.value)) < 300
    assert not Token.objects.filter(rotated_at__isnull=False).exists()


def test_rotatetoken_refuses_a_revoked_token_and_a_deprovisioned_owner(issue, operator):
    token, _ = issue(operator, name="gone")
    token.revoke(by=operator)
    with pytest.raises(CommandError, match="no live API token"):
        run("rotatetoken", operator.email, "--name", "gone")
    issue(operator, name="CI")
    operator.deprovision()
    with pytest.raises(CommandError, match="deprovisioned"):
        run("rotatetoken", operator.email, "--name", "CI")
