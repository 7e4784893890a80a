"""The OpenAPI description of the heartbeat endpoints and the SIEM event feed
(integrations/api.py), kept beside them; each answers only a token of its own kind
(tokens.middleware)."""

from audit.models import Action
from web.openapi import NO_NUL, TIMESTAMP, UNAUTHORIZED, UUID, error, ok, ref, string_enum

from .api import AGENT_VERSION, FEED_LIMIT_DEFAULT, FEED_LIMIT_MAX
from .models import SiemFormat

SCHEMAS = {
    "SiemEvent": {
        "type": "object",
        "required": ["id", "time", "action", "actor", "token", "client_ip", "detail", "cef"],
        "additionalProperties": False,
        "properties": {
            "id": UUID,
            "time": TIMESTAMP,
            "action": string_enum(Action.values),
            "actor": {"type": ["string", "null"], "description": "Who acted (e-mail)."},
            "token": {
                "oneOf": [
                    {
                        "type": "object",
                        "required": ["id", "name", "hint"],
                        "additionalProperties": False,
                        "properties": {
                            "id": UUID,
                            "name": {"type": "string"},
                            "hint": {"type": "string"},
                        },
                    },
                    {"type": "null"},
                ]
            },
            "client_ip": {"type": ["string", "null"]},
            "detail": {"type": "string"},
            "cef": {
                "type": "string",
                "pattern": "^CEF:0\\|[^\\n\\r]*$",
                "description": "The event as one ArcSight CEF line.",
            },
        },
    },
    "SiemEventPage": {
        "type": "object",
        "required": ["events", "next_cursor"],
        "additionalProperties": False,
        "properties": {
            "events": {
                "type": "array",
                "items": ref("SiemEvent"),
                "maxItems": FEED_LIMIT_MAX,
                "description": "Oldest first.",
            },
            "next_cursor": {
                "type": "string",
                "description": "Opaque: give it back as `cursor` to get the events after these.",
            },
        },
    },
    "SiemHeartbeatReport": {
        "type": "object",
        "description": "Optional: an empty body only says the agent is alive. Other keys are "
        "ignored.",
        "properties": {
            "version": {
                "type": ["string", "null"],
                "pattern": f"^{AGENT_VERSION.pattern}$",
                "description": "The agent program's version. null: unchanged.",
            },
            "cursor": {
                "type": ["string", "null"],
                "description": "The `next_cursor` of the last page of the event feed whose "
                "events the SIEM has received. An older cursor than the last one sent is "
                "taken as is (the agent restored an older state). null: unchanged.",
            },
        },
    },
    "SiemHeartbeat": {
        "type": "object",
        "required": ["status", "name", "received_at", "destination", "lag"],
        "additionalProperties": False,
        "properties": {
            "status": {"type": "string", "enum": ["ok"]},
            "name": {"type": "string"},
            "received_at": TIMESTAMP,
            "destination": {
                "type": "object",
                "description": "Where and how the agent sends the events, as set on its page.",
                "required": ["host", "port", "format", "tls"],
                "additionalProperties": False,
                "properties": {
                    "host": {"type": "string"},
                    "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                    "format": string_enum(SiemFormat.values),
                    "tls": {"type": "boolean"},
                },
            },
            "lag": {
                "type": "object",
                "description": "After this heartbeat: the tenant's events the SIEM has not "
                "received, and how long the oldest of them has waited (0 when none).",
                "required": ["events", "seconds"],
                "additionalProperties": False,
                "properties": {
                    "events": {"type": "integer", "minimum": 0},
                    "seconds": {"type": "integer", "minimum": 0},
                },
            },
        },
    },
    "Heartbeat": {
        "type": "object",
        "required": ["status", "name", "received_at"],
        "additionalProperties": False,
        "properties": {
            "status": {"type": "string", "enum": ["ok"]},
            "name": {"type": "string"},
            "received_at": TIMESTAMP,
        },
    },
}

PATHS = {
    "/api/v1/siem/events/": {
        "get": {
            "operationId": "siemEvents",
            "summary": "The tenant's audit events after a cursor, oldest first, each with its CEF "
            "line (SIEM agent tokens only); no event is ever skipped",
            "parameters": [
                {
                    "name": "cursor",
                    "in": "query",
                    "description": "A `next_cursor` this feed gave. Empty: from the beginning.",
                    "schema": {"type": "string", "pattern": NO_NUL},
                },
                {
                    "name": "limit",
                    "in": "query",
                    "description": f"At most this many events. Empty: {FEED_LIMIT_DEFAULT}.",
                    "schema": {
                        "default": FEED_LIMIT_DEFAULT,
                        "anyOf": [
                            {"type": "integer", "minimum": 1, "maximum": FEED_LIMIT_MAX},
                            {"const": ""},
                        ],
                    },
                },
            ],
            "responses": {
                "200": ok(ref("SiemEventPage")),
                "400": error("The cursor or the limit is not valid."),
                "401": UNAUTHORIZED,
                "403": error("Not a SIEM agent token."),
                "410": ok(
                    {
                        "type": "object",
                        "required": ["detail", "oldest_cursor"],
                        "properties": {
                            "detail": {"type": "string"},
                            "oldest_cursor": {
                                "type": "string",
                                "description": "The oldest cursor whose following events are "
                                "all kept: continue from it.",
                            },
                        },
                    },
                    description="The tenant's audit retention deleted events after this "
                    "cursor; nothing is skipped silently.",
                ),
            },
        }
    },
    "/api/v1/siem/heartbeat/": {
        "post": {
            "operationId": "siemHeartbeat",
            "summary": "A SIEM agent reports that it is alive, its version and the events it "
            "has delivered, and gets its destination and lag (SIEM agent tokens only)",
            "requestBody": {
                "required": False,
                "content": {"application/json": {"schema": ref("SiemHeartbeatReport")}},
            },
            "responses": {
                "200": ok(ref("SiemHeartbeat")),
                "400": error(
                    "The body is not a JSON object, the version is not valid, or the cursor "
                    "is not one of the feed's or is ahead of it."
                ),
                "401": UNAUTHORIZED,
                "403": error("Not a SIEM agent token."),
                "404": error("The agent was deleted."),
            },
        }
    },
    "/api/v1/log-collectors/heartbeat/": {
        "post": {
            "operationId": "logCollectorHeartbeat",
            "summary": "A log collector reports that it is alive (log collector tokens only)",
            "responses": {
                "200": ok(ref("Heartbeat")),
                "401": UNAUTHORIZED,
                "403": error("Not a log collector token."),
                "404": error("The collector was deleted."),
            },
        }
    },
}
