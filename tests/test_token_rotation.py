import pytest

from tests.api import api_client
from tests.factories import TokenFactory
from tests.pages import revealed_value
from tokens import crypto
from tokens.models import Token


def rotate_url(token):
    return f"/settings/security-extensions/api-tokens/{token.pk}/rotate/"


def test_rotating_reveals_a_new_value_and_the_old_one_stops(signed_in, issue, operator):
    token, old = issue(operator, name="CI")
    old_client = api_client(old)
    assert old_client.get("/api/v1/me/").status_code == 200
    response = signed_in(operator).post(rotate_url(token))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    new = revealed_value(response)
    assert crypto.is_well_formed(new) and new != old
    assert old_client.get("/api/v1/me/").status_code == 401
    assert api_client(new).get("/api/v1/me/").json()["token"]["id"] == str(token.pk)


def test_rotation_keeps_name_owner_history_and_records_it(signed_in, issue, operator):
    token, _ = issue(operator, name="CI")
    signed_in(operator).post(rotate_url(token))
    rotated = Token.objects.get(pk=token.pk)
    assert rotated.name == "CI" and rotated.owner == operator
    assert rotated.created_at == token.created_at and rotated.rotated_at is not None
    assert list(rotated.audit_events.values_list("action", flat=True)) == [
        "token.rotated",
        "token.generated",
    ]


def test_only_the_owner_rotates(signed_in, full_admin, operator):
    token = TokenFactory(owner=operator)
    assert signed_in(full_admin).post(rotate_url(token)).status_code == 404
    assert Token.objects.get(pk=token.pk).rotated_at is None


@pytest.mark.parametrize("persona", ["reader", "other_tenant_admin"])
def test_others_cannot_rotate(request, signed_in, operator, persona):
    token = TokenFactory(owner=operator)
    assert signed_in(request.getfixturevalue(persona)).post(rotate_url(token)).status_code == 404


def test_a_revoked_token_cannot_be_rotated(signed_in, operator):
    token = TokenFactory(owner=operator)
    token.revoke(by=operator)
    assert signed_in(operator).post(rotate_url(token)).status_code == 404


def test_rotation_asks_for_confirmation_without_javascript(signed_in, operator):
    token = TokenFactory(owner=operator, name="CI")
    html = signed_in(operator).get(rotate_url(token)).content.decode()
    assert "Rotate token?" in html and "old value stops working" in html
