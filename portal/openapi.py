"""/api/v1/openapi.json: the OpenAPI 3.1 document, assembled from what each app declares
beside its API (tokens/openapi.py, audit/openapi.py, identity/openapi.py,
integrations/openapi.py) with the shared building blocks of web/openapi.py.

tests/test_api_openapi.py holds the document to the URL map and to every answer of the API
tests, so an endpoint added or changed without its description fails the suite.
"""

from django.http import JsonResponse

from approvals import openapi as approvals
from audit import openapi as audit
from identity import openapi as identity
from integrations import openapi as integrations
from tokens import openapi as tokens
from web import openapi as web
from web.api import api_view

DESCRIPTION = (
    "Every call needs `Authorization: Token <token>` (`Bearer` is an alias). An API token has "
    "exactly its owner's privileges at the time of each call: security readers read, "
    "everything else also writes. SIEM-agent and log-collector tokens belong to the tenant, "
    "not to the admin who created them: they work on their own heartbeat endpoint only."
)

THIS_DOCUMENT = {
    "/api/v1/openapi.json": {
        "get": {
            "operationId": "openapi",
            "summary": "This document",
            "security": [],
            "responses": {"200": {"description": "The OpenAPI document."}},
        }
    },
}


def merged(*declarations):
    """One dict of every app's declarations; a name declared twice is a mistake, not an
    override."""
    merged = {}
    for declaration in declarations:
        for name, value in declaration.items():
            if name in merged:
                raise ValueError(f"{name} is declared twice in the OpenAPI document.")
            merged[name] = value
    return merged


# Once, at import (portal.warmup imports it in gunicorn's master): only the server URL
# differs between requests.
PATHS = web.with_rate_limit(
    merged(
        tokens.PATHS,
        approvals.PATHS,
        audit.PATHS,
        identity.PATHS,
        integrations.PATHS,
        THIS_DOCUMENT,
    )
)
COMPONENTS = {
    "schemas": merged(
        web.SCHEMAS,
        tokens.SCHEMAS,
        approvals.SCHEMAS,
        audit.SCHEMAS,
        identity.SCHEMAS,
        integrations.SCHEMAS,
    ),
    "securitySchemes": web.SECURITY_SCHEMES,
}


def openapi_document(request):
    return {
        "openapi": "3.1.0",
        "info": {"title": "API-token portal", "version": "1", "description": DESCRIPTION},
        "servers": [{"url": request.build_absolute_uri("/").rstrip("/")}],
        "security": [{"token": []}],
        "paths": PATHS,
        "components": COMPONENTS,
    }


@api_view("GET", public=True)
def openapi_json(request):
    return JsonResponse(openapi_document(request), json_dumps_params={"indent": 2})
