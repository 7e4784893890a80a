"""PATCH /api/v1/tokens/{id}/ narrows a token (issue 17, CONTRACT §12): its owner or a full
admin, never wider than it is."""

import json

import pytest

from audit.models import Action, AuditEvent, Via
from tests.api import api_client
from tests.factories import UserFactory
from tokens import api as api_module
from tokens.models import Token, TokenAccess
from tokens.services import TokenChanged, token_set_networks


def patch(client, token, body):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.patch(
        f"/api/v1/tokens/{token.pk}/",
        data,
        content_type="application/json",
        REMOTE_ADDR="10.0.0.1",  # within every token's networks here
    )


def test_an_owner_makes_its_token_read_only(operator, issue):
    token, secret = issue(operator)
    response = patch(api_client(secret), token, {"access": "read_only"})
    assert response.status_code == 200 and response.json()["access"] == "read_only"
    assert Token.objects.get(pk=token.pk).access == TokenAccess.READ_ONLY
    event = AuditEvent.objects.get(token=token, action=Action.TOKEN_ACCESS_CHANGED)
    assert event.actor == operator and event.via == Via.API
    # The narrowed token is read only from its very next call.
    again = api_client(secret).delete(f"/api/v1/tokens/{token.pk}/", REMOTE_ADDR="10.0.0.1")
    assert again.status_code == 403
    assert again.json()["detail"] == "Permission denied: the token is read only."


def test_a_full_admin_narrows_anothers_token(full_admin, operator, issue):
    token, _ = issue(operator, allowed_networks=["10.0.0.0/8"])
    _, admin_secret = issue(full_admin)
    body = {"access": "read_only", "allowed_networks": ["10.1.0.0/16", "10.2.3.4"]}
    response = patch(api_client(admin_secret), token, body)
    assert response.status_code == 200
    assert response.json()["allowed_networks"] == ["10.1.0.0/16", "10.2.3.4/32"]
    token.refresh_from_db()
    assert token.is_read_only and token.allowed_networks == ["10.1.0.0/16", "10.2.3.4/32"]
    event = AuditEvent.objects.get(token=token, action=Action.TOKEN_NETWORKS_CHANGED)
    assert event.detail == "Allowed from 10.1.0.0/16, 10.2.3.4/32 (was 10.0.0.0/8)."


def test_a_token_with_no_networks_may_be_given_any(operator, issue):
    token, secret = issue(operator)
    response = patch(api_client(secret), token, {"allowed_networks": ["2001:db8::/48"]})
    assert response.status_code == 200
    assert response.json()["allowed_networks"] == ["2001:db8::/48"]


def test_an_operator_cannot_narrow_a_colleagues_token(operator, tenant, issue):
    colleague = UserFactory(tenant=tenant)
    token, _ = issue(colleague)
    _, secret = issue(operator)
    assert patch(api_client(secret), token, {"access": "read_only"}).status_code == 404
    assert Token.objects.get(pk=token.pk).access == TokenAccess.READ_WRITE


def test_a_readers_token_narrows_itself_but_no_other_token(reader, issue):
    # Narrowing takes rights away, so a token that may not write may still narrow itself
    # (review 3, finding 10); narrowing another token is a write like any other.
    token, secret = issue(reader)
    other, _ = issue(reader)
    response = patch(api_client(secret), other, {"allowed_networks": ["10.0.0.0/8"]})
    assert response.status_code == 403
    assert Token.objects.get(pk=other.pk).allowed_networks == []
    response = patch(api_client(secret), token, {"allowed_networks": ["10.0.0.0/8"]})
    assert response.status_code == 200
    assert Token.objects.get(pk=token.pk).allowed_networks == ["10.0.0.0/8"]


def test_a_read_only_token_of_a_writer_narrows_itself(operator, issue):
    token, secret = issue(operator, access=TokenAccess.READ_ONLY)
    response = patch(api_client(secret), token, {"access": "read_only"})
    assert response.status_code == 200
    assert patch(api_client(secret), token, {"access": "read_write"}).status_code == 400
    # A narrowing is still a write for every other endpoint: revoking is not narrowing.
    assert api_client(secret).delete(f"/api/v1/tokens/{token.pk}/").status_code == 403


@pytest.mark.parametrize(
    ("own", "body", "message"),
    [
        ([], {"access": "read_write"}, "no call makes a token writable"),
        (["10.0.0.0/8"], {"allowed_networks": ["10.0.0.0/8"]}, None),
        (["10.0.0.0/8"], {"allowed_networks": []}, "only narrows a token"),
        (["10.0.0.0/8"], {"allowed_networks": ["10.0.0.0/7"]}, "only narrows a token"),
        (["10.0.0.0/8"], {"allowed_networks": ["::ffff:10.0.0.1"]}, "only narrows a token"),
        ([], {"allowed_networks": ["10.0.0.300"]}, "“10.0.0.300” is not an IPv4 or IPv6"),
        ([], {"allowed_networks": "10.0.0.0/8"}, "send a list of addresses or CIDR ranges"),
        ([], {"allowed_networks": [8]}, "send a list of addresses or CIDR ranges"),
        ([], {"allowed_networks": [f"10.{n}.0.0/16" for n in range(51)]}, "at most 50"),
        ([], {"access": "admin"}, 'access: send "read_only"'),
        ([], {"access": ["read_only"]}, 'access: send "read_only"'),
        ([], {"allowed_networks": [""]}, "“” is not an IPv4 or IPv6"),
        ([], {"allowed_networks": [" 10.0.0.1"]}, "is not an IPv4 or IPv6"),
        ([], {"allowed_networks": ["fe80::1%eth0"]}, "is not an IPv4 or IPv6"),
        ([], {"name": "renamed"}, "Unknown field “name”."),
        ([], {}, 'Send JSON like {"access": "read_only"}'),
        ([], [], 'Send JSON like {"access": "read_only"}'),
        ([], "{not json", "The body is not valid JSON."),
    ],
)
def test_bad_and_widening_bodies_get_a_clear_400(operator, issue, own, body, message):
    token, secret = issue(operator, allowed_networks=own)
    response = patch(api_client(secret), token, body)
    if message is None:
        assert response.status_code == 200
        return
    assert response.status_code == 400
    assert message in response.json()["detail"]
    token.refresh_from_db()
    assert token.allowed_networks == own and token.access == TokenAccess.READ_WRITE


def test_a_read_only_token_is_never_made_writable(full_admin, operator, issue):
    token, _ = issue(operator, access=TokenAccess.READ_ONLY)
    _, admin_secret = issue(full_admin)
    response = patch(api_client(admin_secret), token, {"access": "read_write"})
    assert response.status_code == 400
    assert "no call makes a token writable" in response.json()["detail"]


def test_a_narrowing_racing_a_change_of_the_networks_is_409_and_changes_nothing(
    full_admin, operator, issue, monkeypatch
):
    # Review 3, finding 7: PATCH checked against the networks it read, then wrote whatever;
    # racing a full admin's narrowing on the page, it restored the wider list.
    token, secret = issue(operator, allowed_networks=["10.0.0.0/8"])
    checked = api_module.narrowing

    def admin_narrows_meanwhile(token, request):
        answer = checked(token, request)
        token_set_networks(
            token=Token.objects.get(pk=token.pk), allowed_networks=["10.9.0.0/16"], by=full_admin
        )
        return answer

    monkeypatch.setattr(api_module, "narrowing", admin_narrows_meanwhile)
    body = {"access": "read_only", "allowed_networks": ["10.0.0.0/12"]}
    response = patch(api_client(secret), token, body)
    assert response.status_code == 409
    assert "nothing was changed" in response.json()["detail"]
    token.refresh_from_db()
    assert token.allowed_networks == ["10.9.0.0/16"]
    assert token.access == TokenAccess.READ_WRITE  # both or neither
    changes = AuditEvent.objects.filter(token=token).exclude(action=Action.TOKEN_GENERATED)
    assert [event.actor for event in changes] == [full_admin]


def test_setting_networks_over_a_stale_read_is_refused(full_admin, operator, issue):
    token, _ = issue(operator, allowed_networks=["10.0.0.0/8"])
    stale = Token.objects.get(pk=token.pk)
    token_set_networks(token=token, allowed_networks=["10.9.0.0/16"], by=full_admin)
    with pytest.raises(TokenChanged):
        token_set_networks(token=stale, allowed_networks=["10.0.0.0/9"], by=operator)
    assert Token.objects.get(pk=token.pk).allowed_networks == ["10.9.0.0/16"]
