"""Token requests (CONTRACT §16): requested, approved (possibly narrower) or denied, revealed
once by the requester within 7 days."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from approvals.forms import TokenApproveForm, TokenRequestForm, granted_values
from approvals.models import RequestStatus, Shown, TokenRequest
from approvals.services import (
    NotDecidable,
    NotRevealable,
    token_request_approve,
    token_request_create,
    token_request_deny,
    token_request_reveal,
)
from audit.cef import SEVERITY
from audit.models import Action
from tenants.models import TokenCreators
from tokens import crypto
from tokens.models import Token, TokenAccess


@pytest.fixture
def approving(tenant):
    tenant.token_approval_required = True
    tenant.save()
    return tenant


def make_request(requester, name="Nightly export", networks=("10.0.0.0/8",), days=90, **extra):
    values = {
        "name": name,
        "reason": "The nightly export to the data lake.",
        "access": TokenAccess.READ_WRITE,
        "allowed_networks": list(networks),
        "expires_at": timezone.now() + timedelta(days=days) if days else None,
    }
    return token_request_create(requester=requester, **{**values, **extra})


def approve(request, by, **narrower):
    values = {
        "access": request.access,
        "allowed_networks": request.networks,
        "expires_at": request.expires_at,
    }
    return token_request_approve(request=request, by=by, **{**values, **narrower})


def test_a_request_is_pending_and_audited(approving, operator):
    request = make_request(operator)
    assert request.status == RequestStatus.PENDING and request.shown == Shown.PENDING
    event = approving.audit_events.get(action=Action.TOKEN_REQUESTED)
    assert event.actor == operator and "Nightly export" in event.detail
    assert "from 10.0.0.0/8" in event.detail and "Reason: The nightly export" in event.detail


def test_each_decision_is_in_the_siem_feed_with_a_severity():
    for action in (
        Action.TOKEN_REQUESTED,
        Action.TOKEN_REQUEST_APPROVED,
        Action.TOKEN_REQUEST_DENIED,
    ):
        assert action in SEVERITY


def test_an_approval_as_asked_is_audited_and_changes_nothing(approving, operator, full_admin):
    request = approve(make_request(operator), full_admin)
    assert request.status == RequestStatus.APPROVED and request.narrowed == []
    assert request.decided_by == full_admin and request.granted_access == "read_write"
    event = approving.audit_events.get(action=Action.TOKEN_REQUEST_APPROVED)
    assert event.subject == operator and "narrower" not in event.detail


def test_a_narrower_approval_says_what_changed(approving, operator, full_admin):
    request = make_request(operator, networks=("10.0.0.0/8",))
    sooner = timezone.now() + timedelta(days=30)
    approve(
        request,
        full_admin,
        access=TokenAccess.READ_ONLY,
        allowed_networks=["10.1.0.0/16"],
        expires_at=sooner,
    )
    assert [field for field, _asked, _granted in request.narrowed] == [
        "access",
        "networks",
        "expires_at",
    ]
    assert "narrower" in approving.audit_events.get(action=Action.TOKEN_REQUEST_APPROVED).detail


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"allowed_networks": ["192.168.0.0/16"]}, "allowed_networks"),
        ({"allowed_networks": []}, "allowed_networks"),
        ({"allowed_networks": ["10.0.0.0/7"]}, "allowed_networks"),
        ({"expires_at": "later"}, "expires_on"),
        ({"expires_at": "past"}, "expires_on"),
    ],
)
def test_an_approval_is_never_wider_than_the_request(approving, operator, values, field):
    request = make_request(operator, days=30)
    now = timezone.now()
    moments = {"later": now + timedelta(days=60), "past": now - timedelta(days=1)}
    kwargs = {"access": "read_write", "allowed_networks": ["10.0.0.0/8"], "expires_at": None}
    kwargs.update({k: moments[v] if isinstance(v, str) else v for k, v in values.items()})
    with pytest.raises(ValidationError) as refused:
        granted_values(request, now=now, **kwargs)
    assert field in refused.value.message_dict


def test_a_read_only_request_cannot_be_approved_writable(approving, operator):
    request = make_request(operator, access=TokenAccess.READ_ONLY)
    with pytest.raises(ValidationError) as refused:
        granted_values(
            request,
            access="read_write",
            allowed_networks=["10.0.0.0/8"],
            expires_at=None,
            now=timezone.now(),
        )
    assert "read_only" in refused.value.message_dict


def test_the_approve_form_narrows_and_keeps_the_asked_values_by_default(approving, operator):
    request = make_request(operator)
    prefix = f"approve-{request.pk.hex[:12]}"
    form = TokenApproveForm(
        {f"{prefix}-allowed_networks": "10.0.0.0/8"}, token_request=request, now=timezone.now()
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["expires_at"] == request.expires_at
    assert form.cleaned_data["access"] == "read_write"


def test_a_denial_keeps_its_note_and_is_audited(approving, operator, full_admin):
    request = make_request(operator)
    token_request_deny(request=request, by=full_admin, note="Use the shared export account.")
    request.refresh_from_db()
    assert request.status == RequestStatus.DENIED and request.shown == Shown.DENIED
    assert request.decision_note == "Use the shared export account."
    event = approving.audit_events.get(action=Action.TOKEN_REQUEST_DENIED)
    assert "Use the shared export account." in event.detail


def test_a_request_is_decided_once(approving, operator, full_admin):
    request = make_request(operator)
    token_request_deny(request=TokenRequest.objects.get(), by=full_admin, note="No.")
    with pytest.raises(NotDecidable):
        approve(request, full_admin)
    assert TokenRequest.objects.get().status == RequestStatus.DENIED


def test_revealing_issues_the_granted_token_once(approving, operator, full_admin):
    request = make_request(operator)
    approve(request, full_admin, access=TokenAccess.READ_ONLY, allowed_networks=["10.1.0.0/16"])
    issued = token_request_reveal(request=request, by=operator)
    token = Token.objects.get(digest=crypto.digest(issued.secret))
    assert token.owner == operator and token.name == "Nightly export"
    assert token.access == "read_only" and token.networks == "10.1.0.0/16"
    assert token.expires_at == request.granted_expires_at
    request.refresh_from_db()
    assert request.token == token and request.shown == Shown.REVEALED
    with pytest.raises(NotRevealable, match="already revealed"):
        token_request_reveal(request=request, by=operator)
    assert Token.objects.count() == 1


def test_the_secret_is_stored_nowhere_in_plaintext(approving, operator, full_admin):
    request = approve(make_request(operator), full_admin)
    secret = token_request_reveal(request=request, by=operator).secret
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM approvals_tokenrequest")
        rows = repr(cursor.fetchall())
        cursor.execute("SELECT detail FROM audit_auditevent")
        rows += repr(cursor.fetchall())
    assert secret not in rows and secret[8:] not in rows


def test_only_the_requester_reveals(approving, operator, full_admin):
    request = approve(make_request(operator), full_admin)
    with pytest.raises(NotRevealable, match="Only the person who requested"):
        token_request_reveal(request=request, by=full_admin)
    assert not Token.objects.exists()


def test_an_approval_lapses_after_7_days(approving, operator, full_admin):
    request = approve(make_request(operator), full_admin)
    TokenRequest.objects.filter(pk=request.pk).update(
        decided_at=timezone.now() - timedelta(days=7, seconds=1)
    )
    request.refresh_from_db()
    assert request.shown == Shown.LAPSED
    with pytest.raises(NotRevealable, match="lapsed"):
        token_request_reveal(request=request, by=operator)
    assert not Token.objects.exists()


def test_a_denied_or_pending_request_is_not_revealed(approving, operator, full_admin):
    request = make_request(operator)
    with pytest.raises(NotRevealable, match="not approved"):
        token_request_reveal(request=request, by=operator)


def test_a_policy_that_no_longer_names_the_requester_stops_the_reveal(
    approving, reader, full_admin
):
    request = approve(make_request(reader), full_admin)
    approving.token_creators = TokenCreators.OPERATORS
    approving.save()
    reader.tenant.refresh_from_db()
    with pytest.raises(NotRevealable, match="lets only security operators"):
        token_request_reveal(request=request, by=reader)


def test_a_readers_approved_token_is_read_only(approving, reader, full_admin):
    request = approve(make_request(reader), full_admin)
    token = token_request_reveal(request=request, by=reader).token
    assert token.access == "read_only"


def test_the_request_form_asks_for_a_reason_and_applies_the_generate_rules(approving):
    form = TokenRequestForm({"name": "", "expiry": "90"}, tenant=approving)
    assert not form.is_valid()
    assert set(form.errors) == {"name", "reason"}


def test_visible_to_scopes_requests(approving, operator, reader, full_admin, other_tenant_admin):
    mine = make_request(operator)
    make_request(reader)
    assert list(TokenRequest.objects.visible_to(operator)) == [mine]
    assert TokenRequest.objects.visible_to(full_admin).count() == 2
    assert not TokenRequest.objects.visible_to(other_tenant_admin).exists()
