"""The OpenAPI description of the token requests API (approvals/api.py), kept beside it;
portal/openapi.py assembles it into /api/v1/openapi.json."""

from tokens.models import NAME_MAX_LENGTH, TokenAccess
from tokens.openapi import ALLOWED_NETWORKS, FORBIDDEN
from web.networks import PATTERN
from web.openapi import TIMESTAMP, UNAUTHORIZED, UUID, error, ok, ref, string_enum

from .api import STATUS_VALUES
from .models import NOTE_MAX_LENGTH, REASON_MAX_LENGTH, Shown

NOT_FOUND = error("No such token request visible to the token's owner.")
REQUEST_ID = {"name": "id", "in": "path", "required": True, "schema": UUID}
DAY_OR_NULL = {"oneOf": [{"type": "string", "format": "date"}, {"type": "null"}]}
TIMESTAMP_OR_NULL = {"oneOf": [TIMESTAMP, {"type": "null"}]}
NETWORKS_IN = {
    **ALLOWED_NETWORKS,
    "items": {"type": "string", "pattern": PATTERN, "description": "An address or CIDR range."},
}
VALUES = {
    "type": "object",
    "required": ["access", "allowed_networks", "expires_at"],
    "additionalProperties": False,
    "properties": {
        "access": string_enum(TokenAccess.values),
        "allowed_networks": ALLOWED_NETWORKS,
        "expires_at": TIMESTAMP_OR_NULL,
    },
}
ALREADY_DECIDED = error("The request was already decided; nothing changed.")

SCHEMAS = {
    "TokenRequest": {
        "type": "object",
        "required": [
            "id",
            "name",
            "reason",
            "requester",
            "status",
            "created_at",
            "requested",
            "granted",
            "decided_by",
            "decided_at",
            "decision_note",
            "reveal_by",
            "revealed_at",
            "token_id",
        ],
        "additionalProperties": False,
        "properties": {
            "id": UUID,
            "name": {"type": "string"},
            "reason": {"type": "string"},
            "requester": {"type": "string", "format": "email"},
            "status": {
                **string_enum(Shown.values),
                "description": "`approved`: waiting to be revealed by `reveal_by`; `lapsed`: "
                "approved but not revealed in time; `revealed`: the token exists (`token_id`).",
            },
            "created_at": TIMESTAMP,
            "requested": VALUES,
            "granted": {
                "oneOf": [VALUES, {"type": "null"}],
                "description": "What the approval grants: as asked, or narrower.",
            },
            "decided_by": {"oneOf": [{"type": "string", "format": "email"}, {"type": "null"}]},
            "decided_at": TIMESTAMP_OR_NULL,
            "decision_note": {"type": "string"},
            "reveal_by": TIMESTAMP_OR_NULL,
            "revealed_at": TIMESTAMP_OR_NULL,
            "token_id": {"oneOf": [UUID, {"type": "null"}]},
        },
    },
    "TokenRequestList": {
        "type": "object",
        "required": ["count", "results"],
        "additionalProperties": False,
        "properties": {
            "count": {"type": "integer", "minimum": 0},
            "results": {"type": "array", "items": ref("TokenRequest")},
        },
    },
    "NewTokenRequest": {
        "type": "object",
        "required": ["name", "reason"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": NAME_MAX_LENGTH},
            "reason": {"type": "string", "minLength": 1, "maxLength": REASON_MAX_LENGTH},
            "access": {**string_enum(TokenAccess.values), "default": TokenAccess.READ_WRITE},
            "allowed_networks": NETWORKS_IN,
            "expires_on": {
                **DAY_OR_NULL,
                "description": "The day it expires (00:00 UTC); null or left out: none, where "
                "the tenant's policy allows.",
            },
        },
    },
    "TokenRequestApproval": {
        "type": "object",
        "additionalProperties": False,
        "description": "Each field left out is as asked. An approval narrows, never widens.",
        "properties": {
            "access": string_enum(TokenAccess.values),
            "allowed_networks": {
                **NETWORKS_IN,
                "description": "Within those asked for (any, when it asked for anywhere).",
            },
            "expires_on": {**DAY_OR_NULL, "description": "On or before the expiry asked for."},
            "note": {"type": "string", "maxLength": NOTE_MAX_LENGTH},
        },
    },
    "TokenRequestDenial": {
        "type": "object",
        "required": ["note"],
        "additionalProperties": False,
        "properties": {"note": {"type": "string", "minLength": 1, "maxLength": NOTE_MAX_LENGTH}},
    },
}

REVEAL_NOTE = (
    " There is no reveal endpoint: an approved token's secret is shown once, on the "
    "requester's own tokens page, within 7 days of the approval. Delivered by the API, it "
    "would go to whoever holds another of the requester's tokens."
)

PATHS = {
    "/api/v1/token-requests/": {
        "get": {
            "operationId": "listTokenRequests",
            "summary": "Token requests: the caller's own; a full admin's, the tenant's",
            "description": "Newest first, at most 200." + REVEAL_NOTE,
            "parameters": [
                {
                    "name": "status",
                    "in": "query",
                    "description": "Empty is the same as `all`.",
                    "schema": {**string_enum(STATUS_VALUES, allow_empty=True), "default": "all"},
                }
            ],
            "responses": {
                "200": ok(ref("TokenRequestList")),
                "400": error("The status is not one of those listed."),
                "401": UNAUTHORIZED,
                "403": FORBIDDEN,
            },
        },
        "post": {
            "operationId": "requestToken",
            "summary": "Request an API token, where the tenant's policy asks for approval",
            "description": "The token's owner requests a token for themselves, validated as "
            "the tokens page's generate dialog (name, networks, expiry within the policy). "
            "A write: a read-only token or a reader's gets 403 (a reader requests on the page)."
            + REVEAL_NOTE,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": ref("NewTokenRequest")}},
            },
            "responses": {
                "201": ok(ref("TokenRequest"), "Requested; pending."),
                "400": error("The body is not a valid request."),
                "401": UNAUTHORIZED,
                "403": error(
                    "The token may not write, or the tenant's policy does not ask its owner "
                    "to request tokens (the detail names the policy)."
                ),
            },
        },
    },
    "/api/v1/token-requests/{id}/approve/": {
        "parameters": [REQUEST_ID],
        "post": {
            "operationId": "approveTokenRequest",
            "summary": "Approve a pending token request, as asked or narrower (full admins)",
            "description": "The requester is told by e-mail to reveal the token on their tokens "
            "page within 7 days." + REVEAL_NOTE,
            "requestBody": {
                "required": False,
                "content": {"application/json": {"schema": ref("TokenRequestApproval")}},
            },
            "responses": {
                "200": ok(ref("TokenRequest")),
                "400": error("The body is not valid, or would widen the request."),
                "401": UNAUTHORIZED,
                "403": FORBIDDEN,
                "404": NOT_FOUND,
                "409": ALREADY_DECIDED,
            },
        },
    },
    "/api/v1/token-requests/{id}/deny/": {
        "parameters": [REQUEST_ID],
        "post": {
            "operationId": "denyTokenRequest",
            "summary": "Deny a pending token request with a note (full admins)",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": ref("TokenRequestDenial")}},
            },
            "responses": {
                "200": ok(ref("TokenRequest")),
                "400": error("The body has no note."),
                "401": UNAUTHORIZED,
                "403": FORBIDDEN,
                "404": NOT_FOUND,
                "409": ALREADY_DECIDED,
            },
        },
    },
}
