import base64
import binascii
import json

from django.http import JsonResponse
from django.utils import timezone

from audit.cef import cef_line
from audit.models import AuditEvent
from web.api import api_error, api_view, iso

from .models import LogCollector, SiemAgent


def _heartbeat(request, model):
    # api_view accepted only a token of this endpoint's kind, and recorded its use.
    integration = model.objects.filter(token=request.auth).first()
    if integration is None:
        return api_error(404, "No such agent.")
    return JsonResponse(
        {"status": "ok", "name": integration.name, "received_at": iso(timezone.now())}
    )


@api_view("POST", kinds=(SiemAgent.token_kind,))
def siem_heartbeat(request):
    return _heartbeat(request, SiemAgent)


@api_view("POST", kinds=(LogCollector.token_kind,))
def log_collector_heartbeat(request):
    return _heartbeat(request, LogCollector)


FEED_LIMIT_DEFAULT = 100
FEED_LIMIT_MAX = 1000


def encode_cursor(sequence):
    """Opaque to the agent: the last sequence delivered, as URL-safe base64 of a small JSON."""
    raw = json.dumps({"v": 1, "after": sequence}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor):
    """The sequence a cursor stands after, or None when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (ValueError, TypeError, binascii.Error):
        return None
    if not isinstance(data, dict) or data.get("v") != 1:
        return None
    after = data.get("after")
    if type(after) is not int or not 0 <= after < 2**63:
        return None
    return after


def feed_event_json(event):
    hint = event.token.hint if event.token_id else ""
    return {
        "id": str(event.public_id),
        "time": iso(event.created_at),
        "action": event.action,
        "actor": event.actor_email or None,
        "token": (
            {"id": str(event.token_id), "name": event.token_name, "hint": hint}
            if event.token_id
            else None
        ),
        "client_ip": event.client_ip,
        "detail": event.detail,
        "cef": cef_line(event, token_hint=hint),
    }


@api_view("GET", kinds=(SiemAgent.token_kind,))
def siem_events(request):
    """The tenant's audit events after the cursor, oldest first (CONTRACT §11). Events are
    numbered per tenant in commit order with no gap (AuditEvent.sequence), so "after n" never
    skips one that commits late, and the same cursor always gives the same events."""
    limit = request.GET.get("limit", "")
    if limit == "":
        limit = FEED_LIMIT_DEFAULT
    elif limit.isascii() and limit.isdigit() and 1 <= int(limit) <= FEED_LIMIT_MAX:
        limit = int(limit)
    else:
        return api_error(400, f"limit: must be a whole number from 1 to {FEED_LIMIT_MAX}.")
    cursor = request.GET.get("cursor", "")
    after = 0 if cursor == "" else decode_cursor(cursor)
    if after is None:
        return api_error(400, "cursor: not a cursor given by this feed; leave it out to start.")
    events = list(
        AuditEvent.objects.filter(tenant_id=request.auth.tenant_id, sequence__gt=after)
        .select_related("token")
        .order_by("sequence")[:limit]
    )
    last = events[-1].sequence if events else after
    return JsonResponse(
        {"events": [feed_event_json(event) for event in events], "next_cursor": encode_cursor(last)}
    )
