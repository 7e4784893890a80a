from datetime import timedelta

import pytest
from django.utils import timezone

from tests.api import api_client
from tests.factories import TokenFactory
from tests.pages import revealed_value
from tokens import crypto
from tokens.models import Token


def rotate_url(token):
    return f"/settings/security-extensions/api-tokens/{token.pk}/rotate/"


def test_rotating_at_once_reveals_a_new_value_and_the_old_one_stops(signed_in, issue, operator):
    token, old = issue(operator, name="CI")
    old_client = api_client(old)
    assert old_client.get("/api/v1/me/").status_code == 200
    response = signed_in(operator).post(rotate_url(token), {"overlap": "0"})
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
    assert "Rotate token?" in html and "old value keeps working until the time you pick" in html


def set_policy(tenant, *, required=False, max_days=None):
    tenant.token_expiry_required, tenant.token_max_lifetime_days = required, max_days
    tenant.save()


def days_from_now(expires_at):
    return round((expires_at - timezone.now()) / timedelta(days=1))


@pytest.mark.parametrize(
    ("required", "max_days", "lifetime_days", "expected_days", "explained"),
    [
        # Rotating an old token without expiry under "required, at most 30 days": 30 days.
        (True, 30, None, 30, "at most 30 days"),
        (False, 30, None, 30, "at most 30 days"),
        # A lifetime longer than the policy now allows is cut to the maximum.
        (False, 30, 90, 30, "at most 30 days"),
        # Expiry required without a maximum: the dialog's default lifetime.
        (True, None, None, 90, "requires tokens to expire"),
        # Within policy: the token keeps its lifetime, counted from the rotation.
        (True, 90, 30, 30, None),
        (False, None, None, None, None),
    ],
)
def test_rotation_applies_the_tenants_current_policy_and_says_so(
    signed_in,
    issue,
    operator,
    full_admin,
    tenant,
    required,
    max_days,
    lifetime_days,
    expected_days,
    explained,
):
    expires_at = timezone.now() + timedelta(days=lifetime_days) if lifetime_days else None
    token, _ = issue(operator, name="CI", expires_at=expires_at)
    set_policy(tenant, required=required, max_days=max_days)  # tightened after issuance
    response = signed_in(operator).post(rotate_url(token))
    assert response.status_code == 200
    rotated = Token.objects.get(pk=token.pk)
    if expected_days is None:
        assert rotated.expires_at is None
    else:
        assert days_from_now(rotated.expires_at) == expected_days
    html = response.content.decode()
    # The reveal dialog shows the new expiry, and why when the policy changed it.
    if rotated.expires_at:
        assert rotated.expires_at.strftime("%Y-%m-%d %H:%M:%S UTC") in html
    else:
        assert "It does not expire." in html
    event = rotated.audit_events.get(action="token.rotated")
    if explained:
        assert explained in html and explained in event.detail
    assert (rotated.expires_at is None) == (event.detail.startswith("No expiry."))
    # Through the API: the new secret works, and a full admin reads the new expiry and its
    # reason in the audit log.
    new = revealed_value(response)
    assert api_client(new).get("/api/v1/me/").status_code == 200
    _, admin_secret = issue(full_admin)
    events = api_client(admin_secret).get("/api/v1/audit/", {"action": "token.rotated"}).json()
    assert [e["detail"] for e in events["results"]] == [event.detail]
    if rotated.expires_at:
        assert f"{rotated.expires_at:%Y-%m-%d %H:%M} UTC" in event.detail
