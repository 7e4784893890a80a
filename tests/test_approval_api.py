"""The token requests API: request, list, approve (possibly narrower), deny; no reveal."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from approvals.models import RequestStatus, TokenRequest
from approvals.services import token_request_approve, token_request_create, token_request_reveal
from tests.api import api_client

REQUESTS = "/api/v1/token-requests/"


@pytest.fixture
def approving(tenant):
    tenant.token_approval_required = True
    tenant.save()
    return tenant


def post(secret, url, body=None):
    data = "" if body is None else json.dumps(body)
    return api_client(secret).post(url, data, content_type="application/json")


def pending(requester, networks=("10.0.0.0/8",)):
    return token_request_create(
        requester=requester,
        name="Nightly export",
        reason="Data lake",
        access="read_write",
        allowed_networks=list(networks),
        expires_at=timezone.now() + timedelta(days=30),
    )


def test_an_owner_requests_a_token_and_gets_201_with_it(approving, issue, operator):
    _token, secret = issue(operator)
    body = {
        "name": "Nightly export",
        "reason": "Data lake",
        "access": "read_only",
        "allowed_networks": ["10.0.0.5/8"],
        "expires_on": (timezone.now() + timedelta(days=20)).date().isoformat(),
    }
    response = post(secret, REQUESTS, body)
    assert response.status_code == 201
    answer = response.json()
    assert answer["status"] == "pending" and answer["requester"] == "operator@contoso.test"
    assert answer["requested"]["access"] == "read_only"
    assert answer["requested"]["allowed_networks"] == ["10.0.0.0/8"]
    assert answer["granted"] is None and answer["token_id"] is None
    assert TokenRequest.objects.get().pk.hex == answer["id"].replace("-", "")


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ("not json", "JSON"),
        ([], "Send JSON like"),
        ({"name": "x"}, "reason: Say why"),
        ({"reason": "y"}, "name: Enter a name"),
        ({"name": "x", "reason": "y", "colour": "red"}, "Unknown field “colour”"),
        ({"name": "x", "reason": "y", "access": "admin"}, "access: send"),
        ({"name": "x", "reason": "y", "allowed_networks": "10.0.0.0/8"}, "allowed_networks"),
        ({"name": "x", "reason": "y", "allowed_networks": ["nope"]}, "allowed_networks"),
        ({"name": "x", "reason": "y", "expires_on": "2027-02-30"}, "expires_on: send a date"),
        ({"name": "x", "reason": "y", "expires_on": "2001-01-01"}, "expires_on: Choose a date"),
        ({"name": 5, "reason": "y"}, "name: send a string"),
    ],
)
def test_a_malformed_request_is_a_400_with_a_clear_detail(approving, issue, operator, body, detail):
    _token, secret = issue(operator)
    data = body if isinstance(body, str) else json.dumps(body)
    response = api_client(secret).post(REQUESTS, data, content_type="application/json")
    assert response.status_code == 400
    assert detail in response.json()["detail"]
    assert not TokenRequest.objects.exists()


def test_who_may_generate_gets_403_saying_so(issue, operator):
    _token, secret = issue(operator)
    response = post(secret, REQUESTS, {"name": "x", "reason": "y"})
    assert response.status_code == 403 and "generate one" in response.json()["detail"]


def test_owners_list_their_own_and_full_admins_the_tenants(
    approving, issue, operator, full_admin, other_tenant_admin
):
    mine = pending(operator)
    _t, operator_secret = issue(operator)
    _t, admin_secret = issue(full_admin)
    _t, other_secret = issue(other_tenant_admin)
    listed = api_client(operator_secret).get(REQUESTS).json()
    assert [row["id"] for row in listed["results"]] == [str(mine.pk)]
    assert api_client(admin_secret).get(REQUESTS + "?status=pending").json()["count"] == 1
    assert api_client(admin_secret).get(REQUESTS + "?status=denied").json()["count"] == 0
    assert api_client(other_secret).get(REQUESTS).json()["count"] == 0


def test_an_unknown_status_is_a_400(approving, issue, full_admin):
    _t, secret = issue(full_admin)
    response = api_client(secret).get(REQUESTS + "?status=maybe")
    assert response.status_code == 400 and "status" in response.json()["detail"]


def test_a_full_admin_approves_narrower(approving, issue, operator, full_admin):
    request = pending(operator)
    _t, secret = issue(full_admin)
    body = {"access": "read_only", "allowed_networks": ["10.1.0.0/16"], "note": "Smaller"}
    response = post(secret, f"{REQUESTS}{request.pk}/approve/", body)
    assert response.status_code == 200
    answer = response.json()
    assert answer["status"] == "approved" and answer["decision_note"] == "Smaller"
    assert answer["granted"]["access"] == "read_only"
    assert answer["granted"]["allowed_networks"] == ["10.1.0.0/16"]
    assert answer["reveal_by"] is not None and "secret" not in answer


def test_an_approval_without_a_body_is_as_asked(approving, issue, operator, full_admin):
    request = pending(operator)
    _t, secret = issue(full_admin)
    answer = post(secret, f"{REQUESTS}{request.pk}/approve/").json()
    assert answer["granted"] == answer["requested"]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"allowed_networks": ["192.168.0.0/16"]}, "allowed_networks: Grant only networks"),
        ({"expires_on": "2099-01-01"}, "expires_on"),
        ({"note": 7}, "note: send a string"),
        ({"grant": "all"}, "Unknown field"),
    ],
)
def test_a_wider_or_malformed_approval_is_a_400(
    approving, issue, operator, full_admin, body, detail
):
    request = pending(operator)
    _t, secret = issue(full_admin)
    response = post(secret, f"{REQUESTS}{request.pk}/approve/", body)
    assert response.status_code == 400 and detail in response.json()["detail"]
    assert TokenRequest.objects.get().status == RequestStatus.PENDING


def test_a_full_admin_denies_with_a_note(approving, issue, operator, full_admin):
    request = pending(operator)
    _t, secret = issue(full_admin)
    response = post(secret, f"{REQUESTS}{request.pk}/deny/", {"note": "Use the shared one."})
    assert response.status_code == 200
    assert response.json()["status"] == "denied"
    assert response.json()["decision_note"] == "Use the shared one."


def test_a_denial_needs_a_note(approving, issue, operator, full_admin):
    request = pending(operator)
    _t, secret = issue(full_admin)
    response = post(secret, f"{REQUESTS}{request.pk}/deny/", {})
    assert response.status_code == 400 and "note" in response.json()["detail"]


def test_a_decided_request_is_a_409(approving, issue, operator, full_admin):
    request = pending(operator)
    _t, secret = issue(full_admin)
    post(secret, f"{REQUESTS}{request.pk}/deny/", {"note": "No."})
    assert post(secret, f"{REQUESTS}{request.pk}/approve/").status_code == 409


def test_others_and_other_tenants_get_404(approving, issue, operator, reader, other_tenant_admin):
    request = pending(reader)
    for user in (operator, other_tenant_admin):
        _t, secret = issue(user)
        assert post(secret, f"{REQUESTS}{request.pk}/approve/").status_code == 404
        assert post(secret, f"{REQUESTS}{request.pk}/deny/", {"note": "x"}).status_code == 404


def test_there_is_no_reveal_on_the_api(approving, issue, operator, full_admin):
    request = pending(operator)
    _t, secret = issue(operator)
    assert post(secret, f"{REQUESTS}{request.pk}/reveal/").status_code == 404


def test_the_status_filter_reads_as_the_requests_read(approving, issue, operator, full_admin):
    waiting, revealed, lapsed = pending(operator), pending(operator), pending(operator)
    for request in (waiting, revealed, lapsed):
        token_request_approve(
            request=request, by=full_admin, access="read_write", allowed_networks=[],
            expires_at=request.expires_at,
        )  # fmt: skip
    token_request_reveal(request=revealed, by=operator)
    TokenRequest.objects.filter(pk=lapsed.pk).update(decided_at=timezone.now() - timedelta(days=8))
    _t, secret = issue(full_admin)
    for status, expected in (("approved", waiting), ("revealed", revealed), ("lapsed", lapsed)):
        rows = api_client(secret).get(f"{REQUESTS}?status={status}").json()["results"]
        assert [row["id"] for row in rows] == [str(expected.pk)]
        assert rows[0]["status"] == status
