"""The tenant's cap on a rotation's overlap (CONTRACT §15: "at most 7 days or the tenant's
cap", issue 28 item 6): set on the token policy page, held by the API, the page's rotate form
and `rotatetoken`, and the default overlap of 24 hours cut to it."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from tests.api import api_client
from tests.test_token_rotation_overlap import rotate_api, rotate_page_url, status, stored
from tokens.models import Token

POLICY = "/settings/security-extensions/api-tokens/policy/"
HOUR = 3600


@pytest.fixture
def capped(full_admin):
    """Contoso lets an old secret work at most 12 hours after a rotation."""

    def cap(hours):
        tenant = full_admin.tenant
        tenant.token_max_rotation_overlap_hours = hours
        tenant.save()
        return tenant

    return cap


def overlap_of(token):
    rotated = stored(token)
    return rotated.previous_valid_until - rotated.rotated_at


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


# --- The policy page ------------------------------------------------------------------------


def test_a_full_admin_sets_the_cap_on_the_policy_page_and_it_is_audited(signed_in, full_admin):
    client = signed_in(full_admin)
    assert 'name="token_max_rotation_overlap_hours"' in client.get(POLICY).content.decode()
    response = client.post(POLICY, {"token_max_rotation_overlap_hours": "12"})
    assert response.status_code == 302
    full_admin.tenant.refresh_from_db()
    assert full_admin.tenant.token_max_rotation_overlap_hours == 12
    event = AuditEvent.objects.get(action="tenant.policy_changed")
    assert "old values work at most 12 hours after a rotation" in event.detail


def test_an_empty_cap_is_the_products_longest(signed_in, full_admin, capped):
    capped(12)
    assert signed_in(full_admin).post(POLICY, {"token_networks": ""}).status_code == 302
    full_admin.tenant.refresh_from_db()
    assert full_admin.tenant.token_max_rotation_overlap_hours is None
    assert "after a rotation" not in AuditEvent.objects.get(action="tenant.policy_changed").detail


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-1", "Longest rotation overlap: 0 or more hours"),
        ("twelve", "Longest rotation overlap: give a whole number of hours"),
        ("1.5", "Longest rotation overlap: give a whole number of hours"),
        ("169", "Longest rotation overlap: at most 168 hours (7 days)"),
        ("9" * 30, "Longest rotation overlap: at most 168 hours (7 days)"),
    ],
)
def test_the_policy_page_refuses_a_cap_that_is_no_number_of_hours_up_to_7_days(
    signed_in, full_admin, value, message
):
    response = signed_in(full_admin).post(POLICY, {"token_max_rotation_overlap_hours": value})
    assert response.status_code == 400 and message in response.content.decode()
    full_admin.tenant.refresh_from_db()
    assert full_admin.tenant.token_max_rotation_overlap_hours is None
    assert not AuditEvent.objects.filter(action="tenant.policy_changed").exists()


# --- The API ----------------------------------------------------------------------------------


def test_the_api_refuses_an_overlap_above_the_cap_naming_it(issue, operator, capped):
    capped(12)
    token, old = issue(operator)
    response = rotate_api(old, token, {"overlap": 12 * HOUR + 1})
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "overlap: your organisation allows the old secret to keep working at most 12 hours "
        "(43200 seconds); 43201 seconds is longer."
    )
    assert stored(token).rotated_at is None and status(old) == 200
    assert rotate_api(old, token, {"overlap": 12 * HOUR}).status_code == 200
    assert overlap_of(token) == timedelta(hours=12)


def test_the_products_bounds_are_still_said_as_before_under_a_cap(issue, operator, capped):
    capped(12)
    token, old = issue(operator)
    for value in (-1, 7 * 24 * HOUR + 1, "3600"):
        detail = rotate_api(old, token, {"overlap": value}).json()["detail"]
        assert detail.startswith("overlap: send a whole number of seconds from 0")


@pytest.mark.parametrize(("hours", "expected"), [(1, 1), (12, 12), (24, 24), (48, 24), (None, 24)])
def test_the_default_overlap_is_cut_to_a_smaller_cap(issue, operator, capped, hours, expected):
    capped(hours)
    token, old = issue(operator)
    assert rotate_api(old, token).status_code == 200  # no body
    assert overlap_of(token) == timedelta(hours=expected)
    other, other_old = issue(operator, name="other")
    assert rotate_api(other_old, other, {}).status_code == 200
    assert overlap_of(other) == timedelta(hours=expected)


def test_a_cap_of_0_ends_the_old_secret_at_once(issue, operator, capped):
    capped(0)
    token, old = issue(operator)
    new = rotate_api(old, token).json()["secret"]
    assert status(old) == 401 and status(new) == 200
    assert rotate_api(new, token, {"overlap": 1}).status_code == 400


def test_the_cap_is_the_tokens_tenants(issue, operator, other_tenant_admin, capped):
    capped(1)
    token, old = issue(other_tenant_admin)
    assert rotate_api(old, token, {"overlap": 7 * 24 * HOUR}).status_code == 200


# --- The page ---------------------------------------------------------------------------------


def test_the_rotate_form_offers_only_times_within_the_cap_the_cap_chosen(
    signed_in, issue, operator, capped
):
    capped(12)
    token, _ = issue(operator)
    client = signed_in(operator)
    for url in (rotate_page_url(token), "/settings/security-extensions/api-tokens/"):
        html = client.get(url).content.decode()
        assert '<option value="3600">After 1 hour</option>' in html
        assert '<option value="43200" selected>After 12 hours</option>' in html
        assert "After 24 hours" not in html and "After 7 days" not in html
        assert "Your organisation allows at most 12 hours (43200 seconds)." in html


def test_the_rotate_form_keeps_24_hours_under_a_larger_cap(signed_in, issue, operator, capped):
    capped(48)
    token, _ = issue(operator)
    html = signed_in(operator).get(rotate_page_url(token)).content.decode()
    assert '<option value="86400" selected>After 24 hours</option>' in html
    assert '<option value="172800">After 48 hours</option>' in html
    assert "After 7 days" not in html


def test_the_page_refuses_an_overlap_above_the_cap_with_the_forms_error(
    signed_in, issue, operator, capped
):
    capped(12)
    token, old = issue(operator)
    response = signed_in(operator).post(rotate_page_url(token), {"overlap": str(24 * HOUR)})
    assert response.status_code == 400
    assert "Choose one of the times offered. Your organisation allows at most 12 hours" in (
        response.content.decode()
    )
    assert stored(token).rotated_at is None and status(old) == 200


def test_the_page_without_a_choice_rotates_with_the_cut_default(signed_in, issue, operator, capped):
    capped(1)
    token, _ = issue(operator)
    assert signed_in(operator).post(rotate_page_url(token)).status_code == 200
    assert overlap_of(token) == timedelta(hours=1)


# --- The command ------------------------------------------------------------------------------


def test_rotatetoken_refuses_an_overlap_above_the_cap_with_one_line(issue, operator, capped):
    capped(1)
    issue(operator, name="CI")
    with pytest.raises(CommandError) as refused:
        run("rotatetoken", operator.email, "--name", "CI", "--overlap", str(2 * HOUR))
    assert str(refused.value) == (
        "--overlap: your organisation allows the old secret to keep working at most 1 hour "
        "(3600 seconds); 7200 seconds is longer."
    )
    assert not Token.objects.filter(rotated_at__isnull=False).exists()


def test_rotatetoken_cuts_its_default_to_the_cap(issue, operator, capped):
    capped(1)
    token, old = issue(operator, name="CI")
    new = run("rotatetoken", operator.email, "--name", "CI").strip()
    assert overlap_of(token) == timedelta(hours=1)
    assert status(old) == 200 and api_client(new).get("/api/v1/me/").status_code == 200
