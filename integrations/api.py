import base64
import binascii
import json
import re

from django.http import JsonResponse
from django.utils import timezone

from audit import retention
from audit.cef import cef_line
from audit.models import AuditEvent
from web.api import api_error, api_view, iso
from web.http import BadJson, json_body

from .models import LogCollector, SiemAgent


def _heartbeat_answer(integration):
    return {"status": "ok", "name": integration.name, "received_at": iso(timezone.now())}


@api_view("POST", kinds=(LogCollector.token_kind,))
def log_collector_heartbeat(request):
    # api_view accepted only a token of this endpoint's kind, and recorded its use.
    collector = LogCollector.objects.filter(token=request.auth).first()
    if collector is None:
        return api_error(404, "No such agent.")
    return JsonResponse(_heartbeat_answer(collector))


AGENT_VERSION = re.compile(r"[A-Za-z0-9._+-]{1,40}")


class BadHeartbeat(ValueError):
    pass


def heartbeat_report(request, feed_last):
    """(version, delivered sequence) from the body, each None when not given; BadHeartbeat
    names what is wrong. null counts as not given: an agent with no state yet has no cursor."""
    if not request.body:
        return None, None
    try:
        body = json_body(request)
    except BadJson as error:
        raise BadHeartbeat(str(error)) from None
    if not isinstance(body, dict):
        raise BadHeartbeat("The body must be a JSON object.")
    version, cursor = body.get("version"), body.get("cursor")
    if version is not None and not (isinstance(version, str) and AGENT_VERSION.fullmatch(version)):
        raise BadHeartbeat(
            "version: 1 to 40 letters, digits, dots, hyphens, plus signs or underscores."
        )
    if cursor is None:
        return version, None
    delivered = decode_cursor(cursor) if isinstance(cursor, str) else None
    if delivered is None:
        raise BadHeartbeat("cursor: not a cursor given by this feed.")
    if delivered > feed_last:
        raise BadHeartbeat("cursor: ahead of the feed.")
    return version, delivered


@api_view("POST", kinds=(SiemAgent.token_kind,))
def siem_heartbeat(request):
    """The agent is alive, and has delivered the events up to its cursor; the answer tells it
    where to send them and how far behind the portal sees it."""
    agents = SiemAgent.objects.filter(token=request.auth).with_health()
    agent = agents.first()
    if agent is None:
        return api_error(404, "No such agent.")
    try:
        version, delivered = heartbeat_report(request, feed_last=agent.feed_last_sequence)
    except BadHeartbeat as error:
        return api_error(400, str(error))
    agent.record_heartbeat(version=version, delivered_sequence=delivered)
    agent = agents.first()
    if agent is None:  # deleted on its page meanwhile
        return api_error(404, "No such agent.")
    return JsonResponse(
        {
            **_heartbeat_answer(agent),
            "destination": {
                "host": agent.host,
                "port": agent.port,
                "format": agent.format,
                "tls": agent.tls,
            },
            "lag": {"events": agent.lag_events, "seconds": agent.lag_seconds},
        }
    )


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
    # Sequences have no gap but what retention deleted: a page that follows its cursor
    # without one needs no look at how far retention went (one query fewer per page).
    gapless = events and events[-1].sequence - after == len(events)
    if cursor and not gapless and after < (oldest := retention.kept_after(request.auth.tenant_id)):
        # Retention deleted events after this cursor: say so, never skip past them.
        detail = (
            "cursor: events after it are no longer kept (the tenant's audit retention deleted "
            "them); continue from oldest_cursor, the oldest position still complete."
        )
        return JsonResponse(
            {"detail": detail, "oldest_cursor": encode_cursor(oldest)},
            status=410,
            headers={"Cache-Control": "no-store"},
        )
    last = events[-1].sequence if events else after
    return JsonResponse(
        {"events": [feed_event_json(event) for event in events], "next_cursor": encode_cursor(last)}
    )
