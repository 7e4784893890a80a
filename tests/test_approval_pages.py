"""The pages of token requests: Request a token on the tokens page, the requester's list with
Reveal, and the full admins' Requests page with Approve (possibly narrower) and Deny."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from approvals.models import RequestStatus, TokenRequest
from approvals.services import token_request_approve, token_request_create
from tests.pages import revealed_value
from tokens import crypto
from tokens.models import Token

LIST = "/settings/security-extensions/api-tokens/"
REQUESTS = LIST + "requests/"
NEW = REQUESTS + "new/"


@pytest.fixture
def approving(tenant):
    tenant.token_approval_required = True
    tenant.save()
    return tenant


def pending(requester, name="Nightly export", networks=("10.0.0.0/8",)):
    return token_request_create(
        requester=requester,
        name=name,
        reason="Nightly export to the data lake.",
        access="read_write",
        allowed_networks=list(networks),
        expires_at=timezone.now() + timedelta(days=30),
    )


def approved(requester, by, **narrower):
    request = pending(requester)
    values = {"access": "read_write", "allowed_networks": request.networks}
    values["expires_at"] = request.expires_at
    return token_request_approve(request=request, by=by, **{**values, **narrower})


def prefixed(request, action, **values):
    prefix = f"{action}-{request.pk.hex[:12]}"
    return {f"{prefix}-{name}": value for name, value in values.items()}


def test_who_must_request_sees_request_a_token_not_generate(approving, signed_in, operator):
    html = signed_in(operator).get(LIST).content.decode()
    assert "Request a token" in html and "Generate new token" not in html
    assert 'id="request-dialog"' in html and 'name="reason"' in html


def test_the_default_policy_shows_no_request_parts(signed_in, operator):
    html = signed_in(operator).get(LIST).content.decode()
    assert "Request a token" not in html and "Your token requests" not in html


def test_without_javascript_the_request_button_opens_the_dialog_in_the_page(
    approving, signed_in, operator
):
    response = signed_in(operator).get(NEW)
    assert response.status_code == 200
    assert 'id="request-dialog" class="dialog" aria-labelledby="request-title" open' in (
        response.content.decode()
    )


def test_requesting_makes_a_pending_request_and_lists_it(approving, signed_in, operator):
    client = signed_in(operator)
    response = client.post(
        NEW,
        {"name": "Nightly export", "reason": "Data lake", "expiry": "90", "allowed_networks": ""},
        follow=True,
    )
    request = TokenRequest.objects.get()
    assert request.requester == operator and request.status == RequestStatus.PENDING
    assert not Token.objects.exists()
    html = response.content.decode()
    assert "Your token requests" in html and "Waiting for a full admin" in html
    assert "requested. A full admin" in html


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "reason": "x"}, "Enter a name for the token"),
        ({"name": "x", "reason": ""}, "Say why you need the token"),
        ({"name": "x", "reason": "y", "allowed_networks": "not a network"}, "not a network"),
        ({"name": "x", "reason": "y", "expiry": "forever"}, "Select a valid choice"),
    ],
)
def test_a_bad_request_is_a_400_with_the_dialog_and_the_message(
    approving, signed_in, operator, data, message
):
    response = signed_in(operator).post(NEW, data)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html and 'id="request-dialog"' in html
    assert not TokenRequest.objects.exists()


def test_a_request_post_of_someone_who_may_generate_is_refused(signed_in, operator):
    response = signed_in(operator).post(NEW, {"name": "x", "reason": "y"})
    assert response.status_code == 403 and not TokenRequest.objects.exists()


def test_full_admins_see_the_pending_count_and_the_requests_link(
    approving, signed_in, full_admin, operator
):
    pending(operator)
    html = signed_in(full_admin).get(LIST).content.decode()
    assert f'href="{REQUESTS}">Requests <span class="count" aria-label="1 pending">1</span>' in html


def test_others_see_no_requests_page(approving, signed_in, operator):
    assert signed_in(operator).get(REQUESTS).status_code == 404


def test_the_requests_page_lists_pending_ones_with_their_forms(
    approving, signed_in, full_admin, operator
):
    pending(operator)
    html = signed_in(full_admin).get(REQUESTS).content.decode()
    assert "Nightly export" in html and "Nightly export to the data lake." in html
    assert ">Approve<" in html and ">Deny…<" in html


def test_the_requests_page_says_when_nothing_is_pending(approving, signed_in, full_admin):
    html = signed_in(full_admin).get(REQUESTS).content.decode()
    assert "No pending requests" in html and "No decisions yet" in html


def test_the_requests_page_says_whether_the_policy_asks_for_approval(tenant, signed_in, full_admin):
    client = signed_in(full_admin)
    assert "does not ask for approval now" in client.get(REQUESTS).content.decode()
    tenant.token_approval_required = True
    tenant.save()
    html = client.get(REQUESTS).content.decode()
    assert "asks a full admin to approve new API tokens" in html
    assert "does not ask for approval" not in html


def test_approving_narrower_tells_the_requester_what_changed(
    approving, signed_in, full_admin, operator
):
    request = pending(operator)
    data = prefixed(request, "approve", read_only="on", allowed_networks="10.1.0.0/16")
    response = signed_in(full_admin).post(f"{REQUESTS}{request.pk}/approve/", data, follow=True)
    assert "narrower than asked" in response.content.decode()
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED and request.granted_access == "read_only"
    html = signed_in(operator).get(LIST).content.decode()
    assert "Approved narrower than asked" in html
    assert "Read only, not read and write." in html
    assert "Only from 10.1.0.0/16, not 10.0.0.0/8." in html
    assert ">Reveal<" in html


def test_a_wider_approval_is_a_400_with_the_form_and_a_clear_message(
    approving, signed_in, full_admin, operator
):
    request = pending(operator)
    data = prefixed(request, "approve", allowed_networks="192.168.0.0/16")
    response = signed_in(full_admin).post(f"{REQUESTS}{request.pk}/approve/", data)
    assert response.status_code == 400
    assert "Grant only networks within those asked for" in response.content.decode()
    assert TokenRequest.objects.get().status == RequestStatus.PENDING


def test_denying_asks_to_confirm_then_denies_with_the_note(
    approving, signed_in, full_admin, operator
):
    request = pending(operator)
    client = signed_in(full_admin)
    url = f"{REQUESTS}{request.pk}/deny/"
    data = prefixed(request, "deny", note="Use the shared export account.")
    confirm = client.post(url, data)
    assert confirm.status_code == 200 and "Deny this token request?" in confirm.content.decode()
    assert TokenRequest.objects.get().status == RequestStatus.PENDING
    done = client.post(url, {**data, "confirmed": "1"}, follow=True)
    assert "Denied “Nightly export”" in done.content.decode()
    html = signed_in(operator).get(LIST).content.decode()
    assert "Use the shared export account." in html and "Denied by admin@contoso.test" in html


def test_a_denial_without_a_note_is_a_400(approving, signed_in, full_admin, operator):
    request = pending(operator)
    response = signed_in(full_admin).post(f"{REQUESTS}{request.pk}/deny/", {"confirmed": "1"})
    assert response.status_code == 400
    assert "Say why it is denied" in response.content.decode()


def test_revealing_shows_the_value_once_and_never_again(approving, signed_in, full_admin, operator):
    request = approved(operator, full_admin)
    client = signed_in(operator)
    url = f"{REQUESTS}{request.pk}/reveal/"
    response = client.post(url)
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    value = revealed_value(response)
    assert Token.objects.get(digest=crypto.digest(value)).owner == operator
    again = client.post(url, follow=True)
    assert "already revealed" in again.content.decode()
    assert value not in again.content.decode() and Token.objects.count() == 1
    assert "Revealed" in client.get(LIST).content.decode()


def test_a_lapsed_approval_says_so_and_cannot_be_revealed(
    approving, signed_in, full_admin, operator
):
    request = approved(operator, full_admin)
    TokenRequest.objects.update(decided_at=timezone.now() - timedelta(days=8))
    client = signed_in(operator)
    assert "the approval lapsed" in client.get(LIST).content.decode()
    response = client.post(f"{REQUESTS}{request.pk}/reveal/", follow=True)
    assert "lapsed" in response.content.decode() and not Token.objects.exists()


def test_someone_elses_request_is_404(approving, signed_in, full_admin, operator, reader):
    request = approved(operator, full_admin)
    assert signed_in(reader).post(f"{REQUESTS}{request.pk}/reveal/").status_code == 404
    assert signed_in(full_admin).post(f"{REQUESTS}{request.pk}/reveal/").status_code == 404


def test_another_tenants_request_is_404_for_a_full_admin(
    approving, signed_in, operator, other_tenant_admin
):
    request = pending(operator)
    client = signed_in(other_tenant_admin)
    assert client.post(f"{REQUESTS}{request.pk}/approve/").status_code == 404
    assert client.post(f"{REQUESTS}{request.pk}/deny/").status_code == 404


def test_every_form_needs_csrf(approving, full_admin, operator):
    request = pending(operator)
    client = Client(enforce_csrf_checks=True, HTTP_HOST=full_admin.tenant.host)
    client.force_login(full_admin)
    response = client.post(f"{REQUESTS}{request.pk}/approve/", prefixed(request, "approve"))
    assert response.status_code == 403
    assert TokenRequest.objects.get().status == RequestStatus.PENDING


def test_without_approval_full_admins_see_no_requests_button(signed_in, full_admin):
    assert f'href="{REQUESTS}"' not in signed_in(full_admin).get(LIST).content.decode()


def test_a_request_post_of_someone_outside_the_policy_names_it(tenant, signed_in, reader):
    tenant.token_creators = "operators"
    tenant.token_approval_required = True
    tenant.save()
    response = signed_in(reader).post(NEW, {"name": "x", "reason": "y"})
    assert response.status_code == 403
    assert "lets only security operators and full admins" in response.content.decode()
    assert not TokenRequest.objects.exists()
