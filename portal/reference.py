"""The OpenAPI document as a readable page (Help › API reference): each path and method with
its parameters, request body and responses, taken from the same document /api/v1/openapi.json
serves, so the page cannot drift from the API."""

METHODS = ("get", "post", "put", "patch", "delete")


def _ref_name(ref):
    return ref.rsplit("/", 1)[-1]


def describe_schema(schema):
    """A short human description of a schema, values in backticks as in the document's own
    Markdown: 'Token', 'string, one of: `all`, `active`', …"""
    if not schema:
        return ""
    if "$ref" in schema:
        return _ref_name(schema["$ref"])
    if "anyOf" in schema:
        return " or ".join(describe_schema(option) for option in schema["anyOf"])
    if "const" in schema:
        return "empty" if schema["const"] == "" else f"`{schema['const']}`"
    kind = schema.get("type", "")
    if isinstance(kind, list):
        kind = " or ".join(kind)
    if kind == "array":
        return f"list of {describe_schema(schema.get('items', {}))}"
    if "enum" in schema:
        values = ", ".join(f"`{value}`" if value != "" else "(empty)" for value in schema["enum"])
        return f"{kind}, one of: {values}"
    return kind


def _schema_of(content):
    for media in (content or {}).values():
        return media.get("schema", {})
    return {}


def _fields(schema, schemas):
    """The properties of a referenced object schema, for a request body."""
    if "$ref" in schema:
        schema = schemas.get(_ref_name(schema["$ref"]), {})
    required = set(schema.get("required", ()))
    return [
        {
            "name": name,
            "type": describe_schema(prop),
            "required": name in required,
            "description": prop.get("description", ""),
        }
        for name, prop in schema.get("properties", {}).items()
    ]


def operations(document):
    """[{path, method, summary, description, public, parameters, body, responses}] in the
    document's order."""
    schemas = document.get("components", {}).get("schemas", {})
    result = []
    for path, item in document["paths"].items():
        shared = item.get("parameters", [])
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            parameters = [
                {
                    "name": parameter["name"],
                    "in": parameter["in"],
                    "required": parameter.get("required", False),
                    "type": describe_schema(parameter.get("schema", {})),
                    "description": parameter.get("description", ""),
                }
                for parameter in [*shared, *operation.get("parameters", [])]
            ]
            body = None
            if "requestBody" in operation:
                schema = _schema_of(operation["requestBody"].get("content"))
                body = {"type": describe_schema(schema), "fields": _fields(schema, schemas)}
            responses = [
                {
                    "status": status,
                    "description": response.get("description", ""),
                    "type": describe_schema(_schema_of(response.get("content"))),
                }
                for status, response in operation.get("responses", {}).items()
            ]
            result.append(
                {
                    "id": operation.get("operationId", f"{method}-{path}"),
                    "path": path,
                    "method": method.upper(),
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "public": operation.get("security") == [],
                    "parameters": parameters,
                    "body": body,
                    "responses": responses,
                }
            )
    return result
