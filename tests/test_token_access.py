"""Read-only tokens (issue 17, CONTRACT §12): a token writes only if it was issued writable and
its owner may write at the time of the call."""

import io
import uuid

import pytest
from django.core.management import call_command

from audit.models import Action, AuditEvent
from tenants.models import Role
from tenants.services import user_set_role
from tests.api import api_client
from tests.factories import UserFactory
from tests.pages import revealed_value
from tokens import crypto
from tokens.models import Token, TokenAccess
from tokens.services import token_rotate

GENERATE = "/settings/security-extensions/api-tokens/new/"
TOKEN_READ_ONLY = "Permission denied: the token is read only."
OWNER_READ_ONLY = "this token's owner has read-only access"

ROLES = [Role.FULL_ADMIN, Role.SECURITY_OPERATOR, Role.SECURITY_READER]
ACCESSES = [TokenAccess.READ_WRITE, TokenAccess.READ_ONLY]


def expected(role, access, method):
    """The table: reads always pass; a write needs a writable token of an owner who writes."""
    if method == "GET":
        return 200, None
    if role == Role.SECURITY_READER:  # its tokens are also issued read only, whatever is asked
        return 403, "Permission denied: this token's owner has read-only access (Security reader)."
    if access == TokenAccess.READ_ONLY:
        return 403, TOKEN_READ_ONLY
    return 204, None


@pytest.mark.parametrize("method", ["GET", "DELETE"])
@pytest.mark.parametrize("access", ACCESSES)
@pytest.mark.parametrize("role", ROLES)
def test_owner_role_by_token_access_by_method(tenant, issue, role, access, method):
    owner = UserFactory(tenant=tenant, role=role)
    token, secret = issue(owner, access=access)
    response = api_client(secret).generic(method, f"/api/v1/tokens/{token.pk}/")
    status, detail = expected(role, access, method)
    assert response.status_code == status
    if detail:
        assert response.json()["detail"] == detail


def test_a_writable_token_of_a_demoted_owner_gets_the_owners_refusal(operator, issue):
    token, secret = issue(operator)
    user_set_role(user=operator, role=Role.SECURITY_READER)
    response = api_client(secret).delete(f"/api/v1/tokens/{token.pk}/")
    assert response.status_code == 403
    assert OWNER_READ_ONLY in response.json()["detail"]


def test_a_read_only_token_stays_read_only_when_its_owner_is_promoted(reader, issue):
    token, secret = issue(reader, access=TokenAccess.READ_WRITE)
    assert token.access == TokenAccess.READ_ONLY
    user_set_role(user=reader, role=Role.FULL_ADMIN)
    response = api_client(secret).delete(f"/api/v1/tokens/{token.pk}/")
    assert response.status_code == 403
    assert response.json()["detail"] == TOKEN_READ_ONLY


def test_the_api_shows_the_access(operator, issue):
    token, secret = issue(operator, access=TokenAccess.READ_ONLY)
    client = api_client(secret)
    assert client.get("/api/v1/me/").json()["token"]["access"] == "read_only"
    assert client.get("/api/v1/tokens/").json()["results"][0]["access"] == "read_only"
    assert client.get(f"/api/v1/tokens/{token.pk}/").json()["access"] == "read_only"


def test_rotation_keeps_the_access(operator, issue):
    token, _ = issue(operator, access=TokenAccess.READ_ONLY)
    rotated = token_rotate(token=token, by=operator)
    assert Token.objects.get(pk=rotated.token.pk).access == TokenAccess.READ_ONLY
    assert api_client(rotated.secret).delete(f"/api/v1/tokens/{token.pk}/").status_code == 403


def generate(client, **fields):
    return client.post(GENERATE, {"name": "Dashboard", "form_id": uuid.uuid4().hex, **fields})


def test_the_dialog_generates_a_read_only_token(signed_in, full_admin):
    value = revealed_value(generate(signed_in(full_admin), read_only="on"))
    token = Token.objects.get(digest=crypto.digest(value))
    assert token.access == TokenAccess.READ_ONLY
    event = AuditEvent.objects.get(token=token, action=Action.TOKEN_GENERATED)
    assert "Read only." in event.detail


def test_the_dialog_generates_a_writable_token_by_default(signed_in, operator):
    value = revealed_value(generate(signed_in(operator)))
    assert Token.objects.get(digest=crypto.digest(value)).access == TokenAccess.READ_WRITE


def test_a_readers_dialog_shows_read_only_checked_and_disabled(signed_in, reader):
    client = signed_in(reader)
    html = client.get(GENERATE).content.decode()
    checkbox = html.split('name="read_only"')[1].split(">")[0]
    assert "checked" in checkbox and "disabled" in checkbox
    # A hand-made POST without the box still issues a read-only token.
    value = revealed_value(generate(client))
    assert Token.objects.get(digest=crypto.digest(value)).access == TokenAccess.READ_ONLY


def test_the_table_and_the_detail_page_show_the_access(signed_in, operator, issue):
    token, _ = issue(operator, name="Dashboard", access=TokenAccess.READ_ONLY)
    client = signed_in(operator)
    listing = client.get("/settings/security-extensions/api-tokens/").content.decode()
    assert '<span class="access">Read only' in listing
    detail = client.get(f"/settings/security-extensions/api-tokens/{token.pk}/").content.decode()
    assert "<dt>Access</dt><dd>Read only" in detail


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip()


def test_generatetoken_read_only(operator):
    value = run("generatetoken", operator.email, "--name", "Dashboard", "--read-only")
    assert Token.objects.get(digest=crypto.digest(value)).access == TokenAccess.READ_ONLY


def test_generatetoken_for_a_reader_is_read_only_without_the_flag(reader):
    value = run("generatetoken", reader.email, "--name", "Dashboard")
    assert Token.objects.get(digest=crypto.digest(value)).access == TokenAccess.READ_ONLY
