"""The OpenAPI description of the tokens app's endpoints (tokens/api.py), kept beside them;
portal/openapi.py assembles it with the other apps' into /api/v1/openapi.json.

Every answer under /api/ that a test receives is checked against these schemas
(tests/conftest.py), so a change to a view that is not made here fails the suite.
"""

from tenants.models import SERVICE_ACCOUNT_DOMAIN, SLUG_PATTERN, Role, ServiceAccount
from web.networks import MAX_NETWORKS, PATTERN
from web.openapi import (
    ERROR,
    NO_NUL,
    PAGE_PARAMETERS,
    TIMESTAMP,
    UNAUTHORIZED,
    UUID,
    error,
    ok,
    page_of,
    ref,
    string_enum,
)

from .forms import TokenListingForm
from .models import (
    DEFAULT_OVERLAP,
    DEFAULT_SORT,
    MAX_OVERLAP,
    NAME_MAX_LENGTH,
    SORT_VALUES,
    STATUS_FILTER_VALUES,
    TokenAccess,
    TokenStatus,
)

# What tokens.middleware answers a personal token it authenticated but may not let through.
FORBIDDEN = error(
    "The token's owner is deprovisioned, or may not write, or the token is read only, or the "
    "call came from outside the token's allowed networks."
)
NOT_FOUND = error("No such object visible to the token's owner.")
TOKEN_ID = {"name": "id", "in": "path", "required": True, "schema": UUID}
ACCESS = {
    **string_enum(TokenAccess.values),
    "description": "`read_only`: the token never writes. `read_write`: it writes while its "
    "owner may.",
}
ALLOWED_NETWORKS = {
    "type": "array",
    "maxItems": MAX_NETWORKS,
    "items": {"type": "string", "description": "An IPv4 or IPv6 CIDR range, normalised."},
    "description": "The networks the token may be used from; empty: anywhere.",
}
CALLING_TOKEN = {
    "type": "object",
    "required": ["id", "name", "access", "allowed_networks"],
    "additionalProperties": False,
    "properties": {
        "id": UUID,
        "name": {"type": "string"},
        "access": ACCESS,
        "allowed_networks": ALLOWED_NETWORKS,
    },
}

SCHEMAS = {
    "Token": {
        "type": "object",
        "required": [
            "id",
            "name",
            "status",
            "created_at",
            "last_used_at",
            "owner",
            "service_account",
            "access",
            "allowed_networks",
            "suspended_at",
        ],
        "additionalProperties": False,
        "properties": {
            "id": UUID,
            "name": {"type": "string", "minLength": 1, "maxLength": NAME_MAX_LENGTH},
            "status": string_enum(TokenStatus.values),
            "created_at": TIMESTAMP,
            "last_used_at": {"oneOf": [TIMESTAMP, {"type": "null"}]},
            "owner": {
                "type": "string",
                "format": "email",
                "description": "Owner's e-mail; for a service account, a placeholder address "
                f"under the reserved domain {SERVICE_ACCOUNT_DOMAIN} (see service_account).",
            },
            "service_account": {
                "type": ["string", "null"],
                "description": "The name of the service account that owns the token; null when "
                "a person does.",
            },
            "access": ACCESS,
            "allowed_networks": ALLOWED_NETWORKS,
            "suspended_at": {
                "oneOf": [TIMESTAMP, {"type": "null"}],
                "description": "Since when calls with it are refused (status `suspended`), "
                "until it is resumed; null when it is not suspended.",
            },
        },
    },
    "TokenPage": page_of("Token"),
    "TokenNarrowing": {
        "type": "object",
        "minProperties": 1,
        "additionalProperties": False,
        "properties": {
            "access": {
                **string_enum([TokenAccess.READ_ONLY]),
                "description": "Makes the token read only, for good: no call makes a token "
                "writable.",
            },
            "allowed_networks": {
                **ALLOWED_NETWORKS,
                "items": {
                    "type": "string",
                    "pattern": PATTERN,
                    "description": "An IPv4 or IPv6 address, or a CIDR range (host bits are "
                    "cleared: 10.1.2.3/8 is 10.0.0.0/8).",
                },
                "description": "Every range must lie within the token's current networks "
                "(any, when it has none); they are normalised.",
            },
        },
    },
    "TokenRotation": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "overlap": {
                "type": "integer",
                "minimum": 0,
                "maximum": int(MAX_OVERLAP.total_seconds()),
                "default": int(DEFAULT_OVERLAP.total_seconds()),
                "description": "Seconds the old secret keeps working at most: it stops at the "
                "earlier of this and the new secret's first successful call. 0: at once. At most "
                "the tenant's cap where it sets one (400 above it, naming the cap); without "
                "`overlap`, the default is cut to the cap.",
            }
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
                    "role": string_enum(Role.values),
                },
            },
            "token": CALLING_TOKEN,
        },
    },
}

# The Token and, in the one answer that shows it, the new secret.
SCHEMAS["RotatedToken"] = {
    **SCHEMAS["Token"],
    "required": [*SCHEMAS["Token"]["required"], "secret", "previous_valid_until", "note"],
    "properties": {
        **SCHEMAS["Token"]["properties"],
        "secret": {"type": "string", "description": "The new secret, shown only in this answer."},
        "previous_valid_until": {
            **TIMESTAMP,
            "description": "When the old secret stops at the latest (earlier if the new one is "
            "used first).",
        },
        "note": {
            "type": "string",
            "description": "What the tenant's expiry policy changed; empty when nothing.",
        },
    },
}

# ?status=, ?q=, ?sort= and the page: of every list of API tokens (tokens.api._token_page).
LISTING_PARAMETERS = [
    {
        "name": "status",
        "in": "query",
        "description": "Empty is the same as `all`.",
        "schema": {
            **string_enum(STATUS_FILTER_VALUES, allow_empty=True),
            "default": "all",
        },
    },
    {
        "name": "q",
        "in": "query",
        "description": "Part of the token's name, its owner's e-mail or its first "
        "characters (the hint), in any case; spaces around it are ignored. Empty: "
        "every token.",
        "schema": {
            "type": "string",
            "maxLength": TokenListingForm.base_fields["q"].max_length,
            "pattern": NO_NUL,
        },
    },
    {
        "name": "sort",
        "in": "query",
        "description": "The order: a field, descending with a leading `-`; ties "
        "in id order. Names sort in any case; never-used tokens count as the least "
        "recently used. Empty is the same as the default.",
        "schema": {
            **string_enum(SORT_VALUES, allow_empty=True),
            "default": DEFAULT_SORT,
        },
    },
    *PAGE_PARAMETERS,
]

PATHS = {
    "/api/v1/me/": {
        "get": {
            "operationId": "me",
            "summary": "The calling token, its owner and tenant",
            "responses": {"200": ok(ref("Me")), "401": UNAUTHORIZED, "403": FORBIDDEN},
        }
    },
    "/api/v1/tokens/": {
        "get": {
            "operationId": "listTokens",
            "summary": "API tokens visible to the token's owner, newest first",
            "description": "Full admins see every API token of the tenant; other roles their "
            "own. `status`, `q` and `sort` combine; `next` and `previous` keep them.",
            "parameters": LISTING_PARAMETERS,
            "responses": {
                "200": ok(ref("TokenPage")),
                "400": error("A query parameter is not valid."),
                "401": UNAUTHORIZED,
                "403": FORBIDDEN,
                "404": error("The page does not exist."),
            },
        }
    },
    "/api/v1/tokens/{id}/": {
        "parameters": [TOKEN_ID],
        "get": {
            "operationId": "getToken",
            "summary": "One API token",
            "responses": {
                "200": ok(ref("Token")),
                "401": UNAUTHORIZED,
                "403": FORBIDDEN,
                "404": NOT_FOUND,
            },
        },
        "patch": {
            "operationId": "narrowToken",
            "summary": "Narrow an API token: make it read only, or restrict its networks",
            "description": "The token's owner or a full admin. Any token may narrow itself, a "
            "read-only one too: narrowing only takes rights away. The API never widens a "
            "token: networks only shrink (400 otherwise; the token's page may widen them).",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": ref("TokenNarrowing")}},
            },
            "responses": {
                "200": ok(ref("Token")),
                "400": error("The body is not a narrowing of the token."),
                "401": UNAUTHORIZED,
                "403": FORBIDDEN,
                "404": NOT_FOUND,
                "409": error(
                    "The token's networks changed while the request was made; nothing "
                    "changed. Read the token and send the narrowing again."
                ),
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
    "/api/v1/tokens/{id}/rotate/": {
        "parameters": [TOKEN_ID],
        "post": {
            "operationId": "rotateToken",
            "summary": "Rotate an API token: a new secret, the old one working on for an overlap",
            "description": "The token's owner, with any of the owner's tokens that reaches at "
            "least as far (networks; rotating another token is a write); any token may rotate "
            "itself. The old secret works until the earlier of the overlap's end and the new "
            "secret's first successful call. Sent with the old secret while the new one is "
            "unused (a lost answer), it replaces that new secret. The old secret used after the "
            "new one was is refused (401), audited and flagged; the new one stays valid.",
            "requestBody": {
                "required": False,
                "content": {"application/json": {"schema": ref("TokenRotation")}},
            },
            "responses": {
                "200": ok(ref("RotatedToken")),
                "400": error(
                    "The body is not a valid overlap, or one longer than the tenant's cap."
                ),
                "401": UNAUTHORIZED,
                "403": FORBIDDEN,
                "404": NOT_FOUND,
            },
        },
    },
    "/api/v1/tokens/{id}/suspend/": {
        "parameters": [TOKEN_ID],
        "post": {
            "operationId": "suspendToken",
            "summary": "Suspend an API token: every call with it is refused until it is resumed",
            "description": "A full admin of its tenant, or its owner. Refused on every host once "
            "this answers (403, naming who suspended it); otherwise unchanged. Suspending a "
            "suspended token changes nothing.",
            "responses": {
                "200": ok(ref("Token")),
                "401": UNAUTHORIZED,
                "403": FORBIDDEN,
                "404": NOT_FOUND,
            },
        },
    },
    "/api/v1/tokens/{id}/resume/": {
        "parameters": [TOKEN_ID],
        "post": {
            "operationId": "resumeToken",
            "summary": "Resume a suspended API token, unchanged",
            "description": "A full admin of its tenant; its owner only a suspension of their "
            "own (403 when a full admin suspended it). Resuming a token that is not suspended "
            "changes nothing.",
            "responses": {
                "200": ok(ref("Token")),
                "401": UNAUTHORIZED,
                "403": FORBIDDEN,
                "404": NOT_FOUND,
            },
        },
    },
    "/api/v1/service-accounts/{name}/tokens/": {
        "parameters": [
            {
                "name": "name",
                "in": "path",
                "required": True,
                "schema": {
                    "type": "string",
                    "pattern": SLUG_PATTERN,
                    "maxLength": ServiceAccount._meta.get_field("name").max_length,
                    "examples": ["ci-deploy"],
                },
            }
        ],
        "get": {
            "operationId": "listServiceAccountTokens",
            "summary": "A service account's API tokens, as the token list gives them (full "
            "admins' tokens only)",
            "description": "Its live API tokens, with the parameters and the order of "
            "`GET /api/v1/tokens/`. A token whose owner may not manage service accounts gets "
            "404, as for a name no account has.",
            "parameters": LISTING_PARAMETERS,
            "responses": {
                "200": ok(ref("TokenPage")),
                "400": error("A query parameter is not valid."),
                "401": UNAUTHORIZED,
                "403": FORBIDDEN,
                "404": error(
                    "No such service account visible to the token's owner, or no such page."
                ),
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
                "content": {"application/json": {"schema": ref("LeakReport")}},
            },
            "responses": {
                "202": ok(ERROR, "Received (the same answer for any token)."),
                "400": error("The body is not JSON with a string `token`."),
                "429": {
                    **error("Too many reports from this address."),
                    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                },
            },
        }
    },
}
