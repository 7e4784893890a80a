"""Writes about token requests. Each appends its audit event in the same transaction; the
secret of an approved request exists only in the one response that reveals it (through
tokens.services.token_issue, like any other token's)."""

from django.db import transaction
from django.utils import timezone

from audit.models import Action, Via
from audit.services import audit_record
from tenants.permissions import may_have_tokens, token_creation_refusal
from tokens.models import TokenAccess
from tokens.services import token_issue
from web import networks

from .models import REVEAL_WINDOW, RequestStatus, TokenRequest


class NotDecidable(Exception):
    """The request was decided meanwhile (another admin, another tab); str() says so."""


class NotRevealable(Exception):
    """The request cannot be revealed (not yours to, lapsed, already revealed); str() says why."""


def _expiry_text(expires_at):
    return f"expires {expires_at:%Y-%m-%d}" if expires_at else "no expiry"


def _values_text(access, stored_networks, expires_at):
    parts = [TokenAccess(access).label.lower()]
    parts.append(f"from {', '.join(networks.listed(stored_networks)) or 'anywhere'}")
    parts.append(_expiry_text(expires_at))
    return ", ".join(parts)


def token_request_create(
    *, requester, name, reason, access, allowed_networks, expires_at, via=Via.PAGE, client_ip=None
):
    """A pending request, with values already validated (approvals.forms.TokenRequestForm)."""
    with transaction.atomic():
        request = TokenRequest.objects.create(
            tenant=requester.tenant,
            requester=requester,
            name=name,
            reason=reason,
            access=access,
            allowed_networks=networks.stored(allowed_networks),
            expires_at=expires_at,
        )
        audit_record(
            tenant=requester.tenant,
            action=Action.TOKEN_REQUESTED,
            via=via,
            actor=requester,
            subject=requester,
            client_ip=client_ip,
            detail=f"Requested “{name}”: "
            f"{_values_text(access, request.allowed_networks, expires_at)}. Reason: {reason}",
        )
    return request


def _decide(request, by, **values):
    """Mark a pending request decided; NotDecidable if another decision came first."""
    now = timezone.now()
    decided = TokenRequest.objects.filter(pk=request.pk, status=RequestStatus.PENDING).update(
        decided_by=by, decided_at=now, **values
    )
    if not decided:
        raise NotDecidable(f"The request “{request.name}” was already decided.")
    for field, value in {"decided_by": by, "decided_at": now, **values}.items():
        setattr(request, field, value)


def token_request_approve(
    *, request, by, access, allowed_networks, expires_at, note="", via=Via.PAGE, client_ip=None
):
    """Approve with the granted values (as asked or narrower: approvals.forms checks that)."""
    with transaction.atomic():
        _decide(
            request,
            by,
            status=RequestStatus.APPROVED,
            granted_access=access,
            granted_networks=networks.stored(allowed_networks),
            granted_expires_at=expires_at,
            decision_note=note,
        )
        narrowed = " (narrower than asked)" if request.narrowed else ""
        audit_record(
            tenant=request.tenant,
            action=Action.TOKEN_REQUEST_APPROVED,
            via=via,
            actor=by,
            subject=request.requester,
            client_ip=client_ip,
            detail=f"Approved “{request.name}”{narrowed}: "
            f"{_values_text(access, request.granted_networks, expires_at)}.",
        )
    return request


def token_request_deny(*, request, by, note, via=Via.PAGE, client_ip=None):
    with transaction.atomic():
        _decide(request, by, status=RequestStatus.DENIED, decision_note=note)
        audit_record(
            tenant=request.tenant,
            action=Action.TOKEN_REQUEST_DENIED,
            via=via,
            actor=by,
            subject=request.requester,
            client_ip=client_ip,
            detail=f"Denied “{request.name}”: {note}",
        )
    return request


def token_request_reveal(*, request, by, client_ip=None):
    """Issue the approved token to its requester, once, within the reveal window; the
    IssuedToken carries the secret. NotRevealable says why not."""
    if by.pk != request.requester_id:
        raise NotRevealable("Only the person who requested a token may reveal it.")
    if not may_have_tokens(by):
        # The policy changed since the approval: it decides at the reveal, as at a generate.
        raise NotRevealable(token_creation_refusal(by))
    now = timezone.now()
    with transaction.atomic():
        # The conditional update is the guard: of two reveals at once, one finds it done.
        claimed = TokenRequest.objects.filter(
            pk=request.pk,
            status=RequestStatus.APPROVED,
            revealed_at__isnull=True,
            decided_at__gt=now - REVEAL_WINDOW,
        ).update(revealed_at=now)
        if not claimed:
            raise NotRevealable(_why_not_revealable(request, now))
        expires_at = request.granted_expires_at
        if expires_at is not None and expires_at <= now:
            raise NotRevealable(f"The approved token “{request.name}” would already be expired.")
        issued = token_issue(
            owner=by,
            name=request.name,
            expires_at=expires_at,
            access=request.granted_access,
            allowed_networks=request.granted_networks_list,
            client_ip=client_ip,
        )
        TokenRequest.objects.filter(pk=request.pk).update(token=issued.token)
        request.revealed_at, request.token = now, issued.token
    return issued


def _why_not_revealable(request, now):
    request.refresh_from_db()
    if request.revealed_at is not None:
        return f"The token “{request.name}” was already revealed; its value cannot be shown again."
    if request.status != RequestStatus.APPROVED:
        return f"The request “{request.name}” is not approved."
    return (
        f"The approval of “{request.name}” lapsed: it was not revealed within 7 days. "
        "Request it again."
    )
