"""The OpenAPI description of GET /api/v1/audit/ (audit/api.py), kept beside it; the enums
and bounds are read from the model's choices and the filter form, so they cannot drift."""

from web.openapi import (
    DAY_OR_EMPTY,
    PAGE_PARAMETERS,
    TIMESTAMP,
    UNAUTHORIZED,
    UUID,
    error,
    ok,
    page_of,
    ref,
    string_enum,
    text_parameter,
)

from .forms import AuditFilterForm
from .models import Action, Via

SCHEMAS = {
    "AuditEvent": {
        "type": "object",
        "required": [
            "id",
            "created_at",
            "action",
            "via",
            "actor",
            "subject",
            "token",
            "client_ip",
            "detail",
        ],
        "additionalProperties": False,
        "properties": {
            "id": UUID,
            "created_at": TIMESTAMP,
            "action": string_enum(Action.values),
            "via": string_enum(Via.values),
            "actor": {"type": ["string", "null"], "description": "Who acted (e-mail)."},
            "subject": {"type": ["string", "null"], "description": "The user concerned."},
            "token": {
                "oneOf": [
                    {
                        "type": "object",
                        "required": ["id", "name"],
                        "additionalProperties": False,
                        "properties": {"id": UUID, "name": {"type": "string"}},
                    },
                    {"type": "null"},
                ]
            },
            "client_ip": {"type": ["string", "null"]},
            "detail": {"type": "string"},
        },
    },
    "AuditPage": page_of("AuditEvent"),
}

PATHS = {
    "/api/v1/audit/": {
        "get": {
            "operationId": "listAuditEvents",
            "summary": "The tenant's audit events, newest first (full admins' tokens only)",
            "parameters": [
                {
                    "name": "action",
                    "in": "query",
                    "description": "Empty: every action.",
                    "schema": string_enum(Action.values, allow_empty=True),
                },
                text_parameter(AuditFilterForm, "user", "Part of the actor's or subject's e-mail."),
                text_parameter(AuditFilterForm, "token", "Part of the token's name, or its hint."),
                {
                    "name": "since",
                    "in": "query",
                    "description": "First day (UTC). Empty: no bound.",
                    "schema": DAY_OR_EMPTY,
                },
                {
                    "name": "until",
                    "in": "query",
                    "description": "Last day (UTC), not before `since`. Empty: no bound.",
                    "schema": DAY_OR_EMPTY,
                },
                *PAGE_PARAMETERS,
            ],
            "responses": {
                "200": ok(ref("AuditPage")),
                "400": error("A query parameter is not valid."),
                "401": UNAUTHORIZED,
                "403": error("The token's owner is not a full admin, or is deprovisioned."),
                "404": error("The page does not exist."),
            },
        }
    },
}
