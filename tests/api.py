"""Helpers for API tests: a client that sends a token and never a session cookie, and the check
that holds every answer under /api/ to the OpenAPI document the portal serves."""

import functools
import json
import re

import jsonschema
from django.test import Client, RequestFactory
from django.urls import Resolver404

from portal.openapi import openapi_json


def api_client(secret=None, host="portal.localhost", scheme="Token"):
    headers = {"HTTP_HOST": host}
    if secret is not None:
        headers["HTTP_AUTHORIZATION"] = f"{scheme} {secret}"
    return Client(**headers)


@functools.cache
def served_document():
    """/api/v1/openapi.json as served: the view's JSON, not the Python it is made from."""
    return json.loads(openapi_json(RequestFactory().get("/api/v1/openapi.json")).content)


def path_shape(path):
    """A route or a documented path with each parameter as {}, so that Django's spelling
    ("<uuid:token_id>") and OpenAPI's ("{id}") compare equal."""
    return re.sub(r"<[^>]+>|\{[^}]+\}", "{}", path)


def documented_path(document, response):
    """The document's path for the route that answered ("/api/v1/tokens/{id}/"), or None.

    Matched through Django's own resolution, so /api/v1/tokens/report-leak/ is never taken
    for a token id."""
    try:
        route = "/" + response.resolver_match.route
    except Resolver404:
        return None
    return {path_shape(path): path for path in document["paths"]}.get(path_shape(route))


# What the layers in front of every endpoint answer for any path, before routing: a Host
# header Django refuses, and a sub-domain that names no tenant (CONTRACT §2). A client on its
# tenant's host never gets them, so the document leaves them out.
ANSWERS_FOR_ANY_PATH = [(400, {"detail": "Bad request."}), (404, {"detail": "Unknown tenant."})]


def check_answer(response, document=None):
    """response is one the document describes: a documented status, the body its schema
    (formats included: an id documented as a uuid must be one), the headers it names.

    An answer to an undocumented path or method is left to the tests of 404 and 405; HEAD is
    checked as GET without a body.
    """
    document = document or served_document()
    path = documented_path(document, response)
    method = response.request["REQUEST_METHOD"].lower()
    operation = document["paths"].get(path, {}).get("get" if method == "head" else method)
    if operation is None:
        return
    status, where = str(response.status_code), f"{method.upper()} {path}"
    if status not in operation["responses"]:
        body = None if method == "head" else response.json()
        assert (response.status_code, body) in ANSWERS_FOR_ANY_PATH, (
            f"{where} answered undocumented {status}"
        )
        return
    answer = operation["responses"][status]
    for header in answer.get("headers", {}):
        assert header in response, f"{where} answered {status} without {header}"
    content = answer.get("content")
    if content and method != "head":
        schema = {**content["application/json"]["schema"], "components": document["components"]}
        validator = jsonschema.Draft202012Validator
        jsonschema.validate(
            response.json(), schema, cls=validator, format_checker=validator.FORMAT_CHECKER
        )
