"""The OpenAPI description of GET /api/v1/service-accounts/ (identity/api.py), kept beside it;
the roles are read from the model's choices. An account's tokens: tokens/openapi.py."""

from tenants.models import Role
from web.openapi import (
    PAGE_PARAMETERS,
    TIMESTAMP,
    UNAUTHORIZED,
    error,
    ok,
    page_of,
    ref,
    string_enum,
)

SCHEMAS = {
    "ServiceAccount": {
        "type": "object",
        "required": [
            "name",
            "description",
            "role",
            "sponsor",
            "sponsor_missing_since",
            "tokens_refused_from",
            "created_at",
            "live_tokens",
        ],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "description": "Unique in the tenant; names it in URLs."},
            "description": {"type": "string"},
            "role": {
                **string_enum(Role.values),
                "description": "What its tokens may do, at each call.",
            },
            "sponsor": {
                "type": "string",
                "format": "email",
                "description": "The person answerable for it; while sponsor_missing_since is "
                "set, the one who was.",
            },
            "sponsor_missing_since": {
                "oneOf": [TIMESTAMP, {"type": "null"}],
                "description": "When its sponsor was deprovisioned with no one to take over; "
                "null while it has a sponsor.",
            },
            "tokens_refused_from": {
                "oneOf": [TIMESTAMP, {"type": "null"}],
                "description": "When the tenant's grace without a sponsor ends and its tokens "
                "are refused, until a full admin names a new sponsor; null while it has one.",
            },
            "created_at": TIMESTAMP,
            "live_tokens": {
                "type": "integer",
                "minimum": 0,
                "description": "Its API tokens not revoked (expired ones included): the count "
                "of GET /api/v1/service-accounts/{name}/tokens/.",
            },
        },
    },
    "ServiceAccountPage": page_of("ServiceAccount"),
}

PATHS = {
    "/api/v1/service-accounts/": {
        "get": {
            "operationId": "listServiceAccounts",
            "summary": "The tenant's service accounts, by name (full admins' tokens only)",
            "parameters": PAGE_PARAMETERS,
            "responses": {
                "200": ok(ref("ServiceAccountPage")),
                "400": error("A query parameter is not valid."),
                "401": UNAUTHORIZED,
                "403": error(
                    "The token's owner is not a full admin, or is deprovisioned, or the call "
                    "came from outside the token's allowed networks."
                ),
                "404": error("The page does not exist."),
            },
        }
    },
}
