"""The token requests API (CONTRACT §16). Requesting, listing and deciding; never revealing:
the secret of an approved request is shown once, on the requester's own tokens page, so
that whoever holds one of the requester's other tokens cannot collect it."""

from datetime import UTC, datetime, time

from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_date

from audit.models import Via
from tenants.permissions import (
    may_decide_token_requests,
    may_issue_writable_tokens,
    must_request_tokens,
    token_generation_refusal,
)
from tokens.models import TokenAccess
from web import networks
from web.api import api_error, api_view, iso
from web.http import BadJson, client_ip, json_body

from . import services
from .forms import TokenRequestForm, granted_values
from .models import NOTE_MAX_LENGTH, RequestStatus, Shown, TokenRequest

STATUS_VALUES = ["all", *Shown.values]
LISTED = 200


def _values(access, stored_networks, expires_at):
    return {
        "access": access,
        "allowed_networks": networks.listed(stored_networks),
        "expires_at": iso(expires_at),
    }


def request_json(token_request):
    approved = token_request.status == RequestStatus.APPROVED
    return {
        "id": str(token_request.pk),
        "name": token_request.name,
        "reason": token_request.reason,
        "requester": token_request.requester.email,
        "status": token_request.shown.value,
        "created_at": iso(token_request.created_at),
        "requested": _values(
            token_request.access, token_request.allowed_networks, token_request.expires_at
        ),
        "granted": _values(
            token_request.granted_access,
            token_request.granted_networks,
            token_request.granted_expires_at,
        )
        if approved
        else None,
        "decided_by": token_request.decided_by.email if token_request.decided_by else None,
        "decided_at": iso(token_request.decided_at),
        "decision_note": token_request.decision_note,
        "reveal_by": iso(token_request.reveal_by),
        "revealed_at": iso(token_request.revealed_at),
        "token_id": str(token_request.token_id) if token_request.token_id else None,
    }


class BadBody(ValueError):
    """A body the endpoint cannot use; str() is the 400's detail."""


def _object(request, shape, fields):
    try:
        body = json_body(request) if request.body else {}
    except BadJson as error:
        raise BadBody(f"{error} {shape}") from None
    if not isinstance(body, dict):
        raise BadBody(shape)
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise BadBody(f"Unknown field “{str(unknown[0])[:40]}”. {shape}")
    return body


def _network_list(body):
    values = body.get("allowed_networks", [])
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise BadBody("allowed_networks: send a list of addresses or CIDR ranges.")
    return values


def _day(body, field):
    value = body.get(field)
    if value is None:
        return None
    try:
        day = parse_date(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:  # well formed, but no such day (2027-02-30)
        day = None
    if day is None:
        raise BadBody(f"{field}: send a date as YYYY-MM-DD, or null.")
    return day


def _access(body):
    value = body.get("access", TokenAccess.READ_WRITE)
    if value not in TokenAccess.values:
        raise BadBody(f"access: send {' or '.join(f'“{v}”' for v in TokenAccess.values)}.")
    return value


REQUEST_SHAPE = (
    'Send JSON like {"name": "Nightly export", "reason": "…", "access": "read_only", '
    '"allowed_networks": ["10.0.0.0/8"], "expires_on": "2027-03-01"}.'
)


def _first_error(form):
    field = next(iter(form.errors))
    shown = {"expiry_date": "expires_on", "expiry": "expires_on", "read_only": "access"}
    return f"{shown.get(field, field)}: {form.errors[field][0]}"


def _create(request):
    if not must_request_tokens(request.user):
        refusal = token_generation_refusal(request.user) or (
            "Your tenant's token policy does not ask you to request tokens: generate one on "
            "the tokens page."
        )
        return api_error(403, refusal)
    fields = ("name", "reason", "access", "allowed_networks", "expires_on")
    try:
        body = _object(request, REQUEST_SHAPE, fields)
        for field in ("name", "reason"):
            if not isinstance(body.get(field, ""), str):
                raise BadBody(f"{field}: send a string.")
        day = _day(body, "expires_on")
        data = {
            "name": body.get("name", ""),
            "reason": body.get("reason", ""),
            "read_only": _access(body) == TokenAccess.READ_ONLY,
            "allowed_networks": "\n".join(_network_list(body)),
            "expiry": "custom" if day else "none",
            "expiry_date": day.isoformat() if day else "",
        }
    except BadBody as error:
        return api_error(400, str(error))
    form = TokenRequestForm(
        data, tenant=request.tenant, writable=may_issue_writable_tokens(request.user)
    )
    if not form.is_valid():
        return api_error(400, _first_error(form))
    token_request = services.token_request_create(
        requester=request.user,
        name=form.cleaned_data["name"],
        reason=form.cleaned_data["reason"],
        access=form.cleaned_data["access"],
        allowed_networks=form.cleaned_data["allowed_networks"],
        expires_at=form.cleaned_data["expires_at"],
        via=Via.API,
        client_ip=client_ip(request),
    )
    return JsonResponse(request_json(token_request), status=201)


@api_view("GET", "POST")
def token_requests(request):
    """POST: request a token (those whose policy asks them to). GET: the caller's own
    requests; a full admin's, the tenant's; `?status=` narrows them."""
    if request.method == "POST":
        return _create(request)
    status = request.GET.get("status", "") or "all"
    if status not in STATUS_VALUES:
        shown = status[:40]
        return api_error(400, f"status: unknown value “{shown}”; send {', '.join(STATUS_VALUES)}.")
    found = TokenRequest.objects.visible_to(request.user).select_related("requester", "decided_by")
    if status != "all":
        found = found.shown_as(status, timezone.now())
    rows = [request_json(token_request) for token_request in found[:LISTED]]
    return JsonResponse({"count": len(rows), "results": rows})


def _decidable(request, request_id):
    if not may_decide_token_requests(request.user):
        return None
    found = TokenRequest.objects.visible_to(request.user).select_related("requester", "tenant")
    return found.filter(pk=request_id).first()


APPROVE_SHAPE = (
    'Send no body to approve as asked, or JSON narrowing it like {"access": "read_only", '
    '"allowed_networks": ["10.1.0.0/16"], "expires_on": "2027-01-31", "note": "…"}.'
)


def _approval(token_request, body, now):
    """The granted values from an approval's body: each field left out is as asked."""
    access = _access({"access": body.get("access", token_request.access)})
    if "allowed_networks" in body:
        try:
            allowed = networks.normalised(_network_list(body))
        except networks.BadNetworks as error:
            raise BadBody(f"allowed_networks: {error}") from None
    else:
        allowed = token_request.networks
    day = _day(body, "expires_on")
    expires_at = datetime.combine(day, time.min, tzinfo=UTC) if day else None
    note = body.get("note", "")
    if not isinstance(note, str) or len(note) > NOTE_MAX_LENGTH:
        raise BadBody(f"note: send a string of at most {NOTE_MAX_LENGTH} characters.")
    try:
        values = granted_values(
            token_request, access=access, allowed_networks=allowed, expires_at=expires_at, now=now
        )
    except ValidationError as error:
        field, messages = next(iter(error.message_dict.items()))
        shown = {"read_only": "access", "expires_on": "expires_on"}.get(field, field)
        raise BadBody(f"{shown}: {messages[0]}") from None
    return {**values, "note": note}


def _already_decided(token_request):
    return api_error(409, f"The request “{token_request.name}” was already decided.")


@api_view("POST")
def token_request_approve(request, request_id):
    token_request = _decidable(request, request_id)
    if token_request is None:
        return api_error(404, "No such token request.")
    try:
        body = _object(request, APPROVE_SHAPE, ("access", "allowed_networks", "expires_on", "note"))
        values = _approval(token_request, body, timezone.now())
    except BadBody as error:
        return api_error(400, str(error))
    try:
        services.token_request_approve(
            request=token_request, by=request.user, via=Via.API, client_ip=client_ip(request),
            **values,
        )  # fmt: skip
    except services.NotDecidable:
        return _already_decided(token_request)
    token_request.refresh_from_db()
    return JsonResponse(request_json(token_request))


DENY_SHAPE = 'Send JSON like {"note": "Use the shared export account."}.'


@api_view("POST")
def token_request_deny(request, request_id):
    token_request = _decidable(request, request_id)
    if token_request is None:
        return api_error(404, "No such token request.")
    try:
        body = _object(request, DENY_SHAPE, ("note",))
    except BadBody as error:
        return api_error(400, str(error))
    note = body.get("note")
    if not isinstance(note, str) or not note.strip() or len(note) > NOTE_MAX_LENGTH:
        return api_error(
            400,
            f"note: say why it is denied, in at most {NOTE_MAX_LENGTH} characters. {DENY_SHAPE}",
        )
    try:
        services.token_request_deny(
            request=token_request, by=request.user, note=note.strip(), via=Via.API,
            client_ip=client_ip(request),
        )  # fmt: skip
    except services.NotDecidable:
        return _already_decided(token_request)
    token_request.refresh_from_db()
    return JsonResponse(request_json(token_request))
