"""Suspend and resume (CONTRACT §16, issue 29 item 3): a suspended token is refused with a
message saying so and by whom to ask, everywhere at once; resuming restores it unchanged. Its
own status in the filter, the table, the API and the audit log; the page, the API and the
commands; a cached token's answered call costs no query."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.cef import SEVERITY
from audit.models import Action, AuditEvent, Via
from tests.api import api_client
from tests.factories import TokenFactory
from tokens.models import Token
from tokens.services import token_resume, token_suspend

ME = "/api/v1/me/"
PAGE = "/settings/security-extensions/api-tokens/"


def suspend_api(secret, token):
    return api_client(secret).post(f"/api/v1/tokens/{token.pk}/suspend/")


def resume_api(secret, token):
    return api_client(secret).post(f"/api/v1/tokens/{token.pk}/resume/")


def stored(token):
    return Token.objects.get(pk=token.pk)


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


# --- The refusal --------------------------------------------------------------------------


def test_a_suspended_token_is_refused_saying_by_whom_and_resuming_restores_it(
    issue, operator, full_admin
):
    token, secret = issue(operator, name="deploy", access="read_only")
    before = {f.attname: getattr(stored(token), f.attname) for f in Token._meta.concrete_fields}
    assert token_suspend(token=token, by=full_admin)
    answer = api_client(secret).get(ME)
    assert answer.status_code == 403
    detail = answer.json()["detail"]
    assert "suspended" in detail and full_admin.email in detail and "resume" in detail
    assert token_resume(token=token, by=full_admin)
    assert api_client(secret).get(ME).status_code == 200
    after = stored(token)
    # Unchanged but for the use the last call made.
    changed = {
        name
        for name, value in before.items()
        if getattr(after, name) != value and name != "last_used_at"
    }
    assert changed == set()


def test_suspending_and_resuming_happen_once_each_and_are_audited(operator, full_admin):
    token = TokenFactory(owner=operator)
    assert token_suspend(token=token, by=full_admin, via=Via.API, client_ip="192.0.2.7")
    assert not token_suspend(token=token, by=full_admin)
    assert stored(token).status == "suspended" and stored(token).suspended_by == full_admin
    assert token_resume(token=token, by=full_admin)
    assert not token_resume(token=token, by=full_admin)
    events = AuditEvent.objects.filter(token=token).order_by("sequence")
    assert [(e.action, e.actor_email) for e in events] == [
        (Action.TOKEN_SUSPENDED, full_admin.email),
        (Action.TOKEN_RESUMED, full_admin.email),
    ]
    assert events[0].client_ip == "192.0.2.7" and events[0].via == Via.API
    # In the SIEM feed with a severity of its own.
    assert SEVERITY[Action.TOKEN_SUSPENDED] > SEVERITY[Action.TOKEN_RESUMED]


def test_a_revoked_token_is_not_suspended(operator, full_admin):
    token = TokenFactory(owner=operator)
    token.revoke(by=full_admin)
    assert not token_suspend(token=token, by=full_admin)
    assert stored(token).suspended_at is None


def test_a_cached_token_is_refused_at_once_and_its_answered_calls_cost_no_query(
    issue, operator, full_admin, caching
):
    token, secret = issue(operator)
    client = api_client(secret)
    client.get(ME)
    client.get(ME)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(ME).status_code == 200
    assert len(queries) == 0
    token_suspend(token=token, by=full_admin)
    assert client.get(ME).status_code == 403  # the very next call
    # Who suspended it is read once for the cached token, then no more.
    with CaptureQueriesContext(connection) as queries:
        assert client.get(ME).status_code == 403
    assert len(queries) == 0
    token_resume(token=token, by=full_admin)
    assert client.get(ME).status_code == 200


def test_a_suspended_tokens_refusal_is_not_a_failed_authentication(issue, operator, full_admin):
    token, secret = issue(operator)
    token_suspend(token=token, by=full_admin)
    for _ in range(40):  # more than the per-address limit on failed authentications
        assert api_client(secret).get(ME).status_code == 403
    token_resume(token=token, by=full_admin)
    assert api_client(secret).get(ME).status_code == 200


def test_an_expired_suspended_token_says_it_expired(issue, operator, full_admin):
    from datetime import timedelta

    from django.utils import timezone

    token, secret = issue(operator)
    token_suspend(token=token, by=full_admin)
    Token.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    answer = api_client(secret).get(ME)
    assert answer.status_code == 401 and "expired" in answer.json()["detail"]
    assert stored(token).status == "expired"


# --- The API ------------------------------------------------------------------------------


def test_the_api_suspends_and_resumes_answering_with_the_token(issue, operator, full_admin):
    token = TokenFactory(owner=operator, name="nightly")
    _, admin_secret = issue(full_admin)
    answer = suspend_api(admin_secret, token)
    assert answer.status_code == 200
    body = answer.json()
    assert body["id"] == str(token.pk) and body["status"] == "suspended"
    assert body["suspended_at"] is not None
    assert suspend_api(admin_secret, token).json()["status"] == "suspended"  # no change
    listed = api_client(admin_secret).get("/api/v1/tokens/", {"status": "suspended"}).json()
    assert [r["name"] for r in listed["results"]] == ["nightly"]
    answer = resume_api(admin_secret, token)
    assert answer.status_code == 200 and answer.json()["suspended_at"] is None
    assert resume_api(admin_secret, token).status_code == 200  # not suspended: no change
    assert [e.via for e in AuditEvent.objects.filter(token=token)] == [Via.API, Via.API]


def test_an_owner_suspends_and_resumes_their_own_token(issue, operator):
    token = TokenFactory(owner=operator)
    _, secret = issue(operator)
    assert suspend_api(secret, token).json()["status"] == "suspended"
    assert resume_api(secret, token).json()["suspended_at"] is None


def test_an_owner_may_not_lift_a_full_admins_suspension(issue, operator, full_admin):
    token = TokenFactory(owner=operator)
    token_suspend(token=token, by=full_admin)
    _, secret = issue(operator)
    answer = resume_api(secret, token)
    assert answer.status_code == 403
    assert full_admin.email in answer.json()["detail"]
    assert stored(token).is_suspended


def test_others_tokens_are_not_found(issue, operator, reader, other_tenant_admin):
    _, secret = issue(operator)
    for owner in (reader, other_tenant_admin):
        token = TokenFactory(owner=owner)
        assert suspend_api(secret, token).status_code == 404
        assert resume_api(secret, token).status_code == 404
        assert not stored(token).is_suspended


def test_a_revoked_or_unknown_token_is_not_found(issue, operator, full_admin):
    token = TokenFactory(owner=operator)
    token.revoke(by=full_admin)
    _, secret = issue(full_admin)
    assert suspend_api(secret, token).status_code == 404
    client = api_client(secret)
    assert (
        client.post("/api/v1/tokens/00000000-0000-0000-0000-000000000000/suspend/").status_code
        == 404
    )
    assert client.post("/api/v1/tokens/not-a-uuid/suspend/").status_code == 404


def test_a_reader_cannot_suspend_through_the_api_but_on_the_page(issue, reader, signed_in):
    token = TokenFactory(owner=reader)
    _, secret = issue(reader)
    answer = suspend_api(secret, token)
    assert answer.status_code == 403  # a write, with a token whose owner may only read
    assert not stored(token).is_suspended
    signed_in(reader).post(f"{PAGE}{token.pk}/suspend/")
    assert stored(token).is_suspended


def test_suspend_and_resume_take_post_only(issue, operator):
    token = TokenFactory(owner=operator)
    _, secret = issue(operator)
    client = api_client(secret)
    for action in ("suspend", "resume"):
        answer = client.get(f"/api/v1/tokens/{token.pk}/{action}/")
        assert answer.status_code == 405 and "detail" in answer.json()


# --- The page -----------------------------------------------------------------------------


def test_the_page_suspends_after_a_confirmation_and_says_so(signed_in, operator, full_admin):
    token = TokenFactory(owner=operator, name="SOAR playbooks")
    client = signed_in(full_admin)
    detail = client.get(f"{PAGE}{token.pk}/").content.decode()
    assert f'action="{PAGE}{token.pk}/suspend/"' in detail and "Suspend token?" in detail
    confirm = client.get(f"{PAGE}{token.pk}/suspend/").content.decode()
    assert "Suspend token?" in confirm and "refused" in confirm
    assert not stored(token).is_suspended  # asking is not doing
    answer = client.post(f"{PAGE}{token.pk}/suspend/", follow=True)
    html = answer.content.decode()
    assert "was suspended" in html and "Suspended" in html and full_admin.email in html
    assert f'action="{PAGE}{token.pk}/resume/"' in html
    listed = client.get(PAGE, {"status": "suspended"}).content.decode()
    assert "SOAR playbooks" in listed and 'class="badge badge-suspended"' in listed
    answer = client.post(f"{PAGE}{token.pk}/resume/", follow=True)
    assert "was resumed" in answer.content.decode() and not stored(token).is_suspended


def test_an_owner_sees_who_suspended_their_token_and_cannot_resume_it(
    signed_in, operator, full_admin
):
    token = TokenFactory(owner=operator)
    token_suspend(token=token, by=full_admin)
    client = signed_in(operator)
    html = client.get(f"{PAGE}{token.pk}/").content.decode()
    assert f"by {full_admin.email}" in html and "until a full admin resumes it" in html
    assert f'action="{PAGE}{token.pk}/resume/"' not in html
    answer = client.post(f"{PAGE}{token.pk}/resume/", follow=True)
    assert "only a full admin may resume it" in answer.content.decode()
    assert stored(token).is_suspended


def test_the_page_does_not_suspend_anothers_token(signed_in, operator, reader):
    token = TokenFactory(owner=reader)
    client = signed_in(operator)
    assert client.post(f"{PAGE}{token.pk}/suspend/").status_code == 404
    assert client.post(f"{PAGE}{token.pk}/resume/").status_code == 404
    assert client.get(f"{PAGE}{token.pk}/resume/").status_code == 405
    assert not stored(token).is_suspended


# --- The commands -------------------------------------------------------------------------


def test_the_commands_suspend_and_resume_with_one_line_each(operator):
    token = TokenFactory(owner=operator, name="nightly")
    said = run("suspendtoken", operator.email, "--name", "nightly")
    assert said.count("\n") == 1 and "Suspended 'nightly'" in said
    assert stored(token).is_suspended
    assert "already suspended" in run("suspendtoken", operator.email, "--name", "nightly")
    said = run("resumetoken", operator.email, "--name", "nightly")
    assert said.count("\n") == 1 and "Resumed 'nightly'" in said
    assert not stored(token).is_suspended
    events = AuditEvent.objects.filter(token=token)
    assert {e.via for e in events} == {Via.COMMAND} and events.count() == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nobody@contoso.test", "--name", "x"], "No user with e-mail 'nobody@contoso.test'."),
        (["operator@contoso.test", "--name", "missing"], "has no live API token named"),
        (["operator@contoso.test"], "--name"),
    ],
)
@pytest.mark.parametrize("command", ["suspendtoken", "resumetoken"])
def test_the_commands_refuse_bad_input_with_one_line(operator, command, args, message):
    with pytest.raises(CommandError) as error:
        run(command, *args)
    assert message in str(error.value) and "\n" not in str(error.value)
