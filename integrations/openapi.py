"""The OpenAPI description of the heartbeat endpoints (integrations/api.py), kept beside
them; each answers only a token of its own kind (tokens.middleware)."""

from web.openapi import TIMESTAMP, UNAUTHORIZED, error, ok, ref

SCHEMAS = {
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
    "/api/v1/siem/heartbeat/": {
        "post": {
            "operationId": "siemHeartbeat",
            "summary": "A SIEM agent reports that it is alive (SIEM agent tokens only)",
            "responses": {
                "200": ok(ref("Heartbeat")),
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
