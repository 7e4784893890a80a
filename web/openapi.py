"""The OpenAPI building blocks every app's API shares: the error body, the page envelope and
its parameters, the token security scheme and the answers of a failed authentication.

Each app describes its own endpoints with these (tokens/openapi.py, audit/openapi.py,
integrations/openapi.py); portal/openapi.py assembles the document. Whatever a form or a model
already states (a choice, a bound) is read from there, never restated.
"""

from .api import PageForm

ERROR = {"$ref": "#/components/schemas/Error"}
TIMESTAMP = {"type": "string", "format": "date-time"}
UUID = {"type": "string", "format": "uuid"}
DAY_OR_EMPTY = {"anyOf": [{"type": "string", "format": "date"}, {"const": ""}]}
NO_NUL = "^[^\\u0000]*$"  # text parameters refuse NUL characters with 400


def ref(schema_name):
    return {"$ref": f"#/components/schemas/{schema_name}"}


def error(description):
    return {"description": description, "content": {"application/json": {"schema": ERROR}}}


def ok(schema, description="OK"):
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def string_enum(values, *, allow_empty=False):
    """A string parameter or property whose values come from model choices."""
    return {"type": "string", "enum": [*values, ""] if allow_empty else list(values)}


def text_parameter(form, name, description):
    """A free-text query parameter, bounded as `form` bounds it."""
    field = form.base_fields[name]
    return {
        "name": name,
        "in": "query",
        "schema": {"type": "string", "maxLength": field.max_length, "pattern": NO_NUL},
        "description": description,
    }


def _whole_number_or_empty(name, description, default):
    field = PageForm.base_fields[name]
    return {
        "name": name,
        "in": "query",
        "description": description,
        "schema": {
            "default": default,
            "anyOf": [
                {"type": "integer", "minimum": field.min_value, "maximum": field.max_value},
                {"const": ""},
            ],
        },
    }


PAGE_PARAMETERS = [
    _whole_number_or_empty("page", "Empty: the first page.", 1),
    _whole_number_or_empty(
        "page_size", f"Empty: {PageForm.DEFAULT_PAGE_SIZE}.", PageForm.DEFAULT_PAGE_SIZE
    ),
]


def page_of(schema_name):
    """The envelope web.api.paginated answers with."""
    return {
        "type": "object",
        "required": ["count", "next", "previous", "results"],
        "additionalProperties": False,
        "properties": {
            "count": {"type": "integer", "minimum": 0},
            "next": {"type": ["string", "null"], "format": "uri"},
            "previous": {"type": ["string", "null"], "format": "uri"},
            "results": {"type": "array", "items": ref(schema_name)},
        },
    }


SCHEMAS = {
    "Error": {
        "type": "object",
        "required": ["detail"],
        "properties": {"detail": {"type": "string"}},
    },
}

SECURITY_SCHEMES = {
    "token": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "`Token <token>` or `Bearer <token>`.",
    }
}

UNAUTHORIZED = {
    **error("Missing, malformed, unknown, revoked or expired token."),
    "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
}
TOO_MANY_FAILURES = {
    **error("Too many failed authentications from this address."),
    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
}


def with_rate_limit(paths):
    """paths, where every operation that authenticates may also answer 429 past the limit of
    failed authentications (web.ratelimit): said once here, not in each app's responses."""
    limited = {}
    for path, item in paths.items():
        limited[path] = {}
        for method, operation in item.items():
            if method != "parameters" and operation.get("security") != []:
                responses = {**operation["responses"]}
                responses.setdefault("429", TOO_MANY_FAILURES)
                operation = {**operation, "responses": responses}
            limited[path][method] = operation
    return limited
