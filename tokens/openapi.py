"""The OpenAPI 3.1 description of the v1 API, kept beside the views it describes.

tests/test_api_openapi.py validates real responses against these schemas, so a change to a
view that is not made here fails the suite.
"""

from audit.models import Action, Via

ERROR = {"$ref": "#/components/schemas/Error"}
TIMESTAMP = {"type": "string", "format": "date-time"}
DAY_OR_EMPTY = {"anyOf": [{"type": "string", "format": "date"}, {"const": ""}]}
NO_NUL = "^[^\\u0000]*$"  # text parameters refuse NUL characters with 400


def _error(description):
    return {"description": description, "content": {"application/json": {"schema": ERROR}}}


def _ok(schema, description="OK"):
    return {"description": description, "content": {"application/json": {"schema": schema}}}


UNAUTHORIZED = {
    **_error("Missing, malformed, unknown, revoked or expired token."),
    "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
}
FORBIDDEN = _error("The token's owner is deprovisioned, or may not write.")
NOT_FOUND = _error("No such object visible to the token's owner.")
TOKEN_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "format": "uuid"},
}

PAGE_PARAMETERS = [
    {
        "name": "page",
        "in": "query",
        "description": "Empty: the first page.",
        "schema": {
            "default": 1,
            "anyOf": [{"type": "integer", "minimum": 1, "maximum": 10**9}, {"const": ""}],
        },
    },
    {
        "name": "page_size",
        "in": "query",
        "description": "Empty: 50.",
        "schema": {
            "default": 50,
            "anyOf": [{"type": "integer", "minimum": 1, "maximum": 200}, {"const": ""}],
        },
    },
]
AUDIT_ACTIONS = Action.values
AUDIT_VIAS = Via.values


def _page_of(schema_name):
    return {
        "type": "object",
        "required": ["count", "next", "previous", "results"],
        "additionalProperties": False,
        "properties": {
            "count": {"type": "integer", "minimum": 0},
            "next": {"type": ["string", "null"], "format": "uri"},
            "previous": {"type": ["string", "null"], "format": "uri"},
            "results": {"type": "array", "items": {"$ref": f"#/components/schemas/{schema_name}"}},
        },
    }


SCHEMAS = {
    "Error": {
        "type": "object",
        "required": ["detail"],
        "properties": {"detail": {"type": "string"}},
    },
    "Token": {
        "type": "object",
        "required": ["id", "name", "status", "created_at", "last_used_at", "owner"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "name": {"type": "string", "minLength": 1, "maxLength": 100},
            "status": {"type": "string", "enum": ["active", "inactive", "generated", "expired"]},
            "created_at": TIMESTAMP,
            "last_used_at": {"oneOf": [TIMESTAMP, {"type": "null"}]},
            "owner": {"type": "string", "format": "email", "description": "Owner's e-mail."},
        },
    },
    "TokenPage": _page_of("Token"),
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
            "id": {"type": "string", "format": "uuid"},
            "created_at": TIMESTAMP,
            "action": {"type": "string", "enum": AUDIT_ACTIONS},
            "via": {
                "type": "string",
                "enum": AUDIT_VIAS,
            },
            "actor": {"type": ["string", "null"], "description": "Who acted (e-mail)."},
            "subject": {"type": ["string", "null"], "description": "The user concerned."},
            "token": {
                "oneOf": [
                    {
                        "type": "object",
                        "required": ["id", "name"],
                        "additionalProperties": False,
                        "properties": {
                            "id": {"type": "string", "format": "uuid"},
                            "name": {"type": "string"},
                        },
                    },
                    {"type": "null"},
                ]
            },
            "client_ip": {"type": ["string", "null"]},
            "detail": {"type": "string"},
        },
    },
    "AuditPage": _page_of("AuditEvent"),
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
    "LeakReport": {
        "type": "object",
        "required": ["token"],
        "properties": {"token": {"type": "string", "description": "The leaked token value."}},
    },
    "Me": {
        "type": "object",
        "required": ["tenant", "user", "token"],
        "additionalProperties": False,
        "properties": {
            "tenant": {
                "type": "object",
                "required": ["slug", "name", "url"],
                "additionalProperties": False,
                "properties": {
                    "slug": {"type": "string"},
                    "name": {"type": "string"},
                    "url": {"type": "string", "format": "uri"},
                },
            },
            "user": {
                "type": "object",
                "required": ["email", "role"],
                "additionalProperties": False,
                "properties": {
                    "email": {"type": "string", "format": "email"},
                    "role": {
                        "type": "string",
                        "enum": ["full_admin", "security_operator", "security_reader"],
                    },
                },
            },
            "token": {
                "type": "object",
                "required": ["id", "name"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string", "format": "uuid"},
                    "name": {"type": "string"},
                },
            },
        },
    },
}

PATHS = {
    "/api/v1/me/": {
        "get": {
            "operationId": "me",
            "summary": "The calling token, its owner and tenant",
            "responses": {
                "200": _ok({"$ref": "#/components/schemas/Me"}),
                "401": UNAUTHORIZED,
                "403": FORBIDDEN,
            },
        }
    },
    "/api/v1/tokens/": {
        "get": {
            "operationId": "listTokens",
            "summary": "API tokens visible to the token's owner, newest first",
            "description": "Full admins see every API token of the tenant; other roles their own.",
            "parameters": [
                {
                    "name": "status",
                    "in": "query",
                    "description": "Empty is the same as `all`.",
                    "schema": {
                        "type": "string",
                        "enum": ["all", "active", "inactive", "generated", "expired", ""],
                        "default": "all",
                    },
                },
                *PAGE_PARAMETERS,
            ],
            "responses": {
                "200": _ok({"$ref": "#/components/schemas/TokenPage"}),
                "400": _error("A query parameter is not valid."),
                "401": UNAUTHORIZED,
                "403": FORBIDDEN,
                "404": _error("The page does not exist."),
            },
        }
    },
    "/api/v1/tokens/{id}/": {
        "parameters": [TOKEN_ID],
        "get": {
            "operationId": "getToken",
            "summary": "One API token",
            "responses": {
                "200": _ok({"$ref": "#/components/schemas/Token"}),
                "401": UNAUTHORIZED,
                "403": FORBIDDEN,
                "404": NOT_FOUND,
            },
        },
        "delete": {
            "operationId": "revokeToken",
            "summary": "Revoke an API token (a token may revoke itself)",
            "responses": {
                "204": {"description": "Revoked; calls with it now fail."},
                "401": UNAUTHORIZED,
                "403": FORBIDDEN,
                "404": NOT_FOUND,
            },
        },
    },
    "/api/v1/tokens/report-leak/": {
        "post": {
            "operationId": "reportLeak",
            "summary": "Report a leaked token; it is revoked if it is live",
            "description": "No authentication: possession of the token is the proof. The "
            "answer is the same whether or not the token existed.",
            "security": [],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/LeakReport"}}
                },
            },
            "responses": {
                "202": _ok(ERROR, "Received (the same answer for any token)."),
                "400": _error("The body is not JSON with a string `token`."),
                "429": {
                    **_error("Too many reports from this address."),
                    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                },
            },
        }
    },
    "/api/v1/audit/": {
        "get": {
            "operationId": "listAuditEvents",
            "summary": "The tenant's audit events, newest first (full admins' tokens only)",
            "parameters": [
                {
                    "name": "action",
                    "in": "query",
                    "description": "Empty: every action.",
                    "schema": {"type": "string", "enum": [*AUDIT_ACTIONS, ""]},
                },
                {
                    "name": "user",
                    "in": "query",
                    "schema": {"type": "string", "maxLength": 254, "pattern": NO_NUL},
                    "description": "Part of the actor's or subject's e-mail.",
                },
                {
                    "name": "token",
                    "in": "query",
                    "schema": {"type": "string", "maxLength": 100, "pattern": NO_NUL},
                    "description": "Part of the token's name, or its hint.",
                },
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
                "200": _ok({"$ref": "#/components/schemas/AuditPage"}),
                "400": _error("A query parameter is not valid."),
                "401": UNAUTHORIZED,
                "403": _error("The token's owner is not a full admin, or is deprovisioned."),
                "404": _error("The page does not exist."),
            },
        }
    },
    "/api/v1/siem/heartbeat/": {
        "post": {
            "operationId": "siemHeartbeat",
            "summary": "A SIEM agent reports that it is alive (SIEM agent tokens only)",
            "responses": {
                "200": _ok({"$ref": "#/components/schemas/Heartbeat"}),
                "401": UNAUTHORIZED,
                "403": _error("Not a SIEM agent token."),
                "404": _error("The agent was deleted."),
            },
        }
    },
    "/api/v1/log-collectors/heartbeat/": {
        "post": {
            "operationId": "logCollectorHeartbeat",
            "summary": "A log collector reports that it is alive (log collector tokens only)",
            "responses": {
                "200": _ok({"$ref": "#/components/schemas/Heartbeat"}),
                "401": UNAUTHORIZED,
                "403": _error("Not a log collector token."),
                "404": _error("The collector was deleted."),
            },
        }
    },
    "/api/v1/openapi.json": {
        "get": {
            "operationId": "openapi",
            "summary": "This document",
            "security": [],
            "responses": {"200": {"description": "The OpenAPI document."}},
        }
    },
}


TOO_MANY_FAILURES = {
    **_error("Too many failed authentications from this address."),
    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
}


def _add_rate_limit(paths):
    """Every operation that authenticates may answer 429 past the failure limit."""
    for operations in paths.values():
        for method, operation in operations.items():
            if method != "parameters" and operation.get("security") != []:
                operation["responses"].setdefault("429", TOO_MANY_FAILURES)


_add_rate_limit(PATHS)  # once, at import: the document is the same for every request


def openapi_document(request):
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "API-token portal",
            "version": "1",
            "description": "Every call needs `Authorization: Token <token>` (`Bearer` is an "
            "alias). An API token has exactly its owner's privileges at the time of each "
            "call: security readers read, everything else also writes. SIEM-agent and "
            "log-collector tokens belong to the tenant, not to the admin who created them: "
            "they work on their own heartbeat endpoint only.",
        },
        "servers": [{"url": request.build_absolute_uri("/").rstrip("/")}],
        "security": [{"token": []}],
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "token": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "`Token <token>` or `Bearer <token>`.",
                }
            },
        },
    }
