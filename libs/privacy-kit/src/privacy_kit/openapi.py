"""A truthful OpenAPI document: every status a route can answer, each with the real error body.

FastAPI describes only 200 and its own `HTTPValidationError` (`{"detail": [...]}`), which is not
what any route of ours sends. `truthful_openapi(app)` post-processes the generated document once,
for every route of a service, from what the kit knows about the route:

- 422 (one `Error` schema, `{"error": {"code", "message", "details"?}}`) when it takes
  parameters or a body, 413 when it takes a body, 503 always (the database may be away);
- 401 and 403 and the bearer security requirement when it needs a signed-in caller;
- 404 when it names a resource in its path or writes, 409 when it writes;
- any other 4xx/5xx a view declares in `responses=` gets the `Error` body if it has none.

The gateway merges these documents and adds its own statuses (429, 502, 504).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

ERROR_REF = "#/components/schemas/Error"
ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "A stable machine word",
                         "examples": ["invalid_request"]},
                "message": {"type": "string", "description": "A sentence a person can act on"},
                "details": {"description": "Per-field problems, for 422", "type": "array",
                            "items": {"type": "object", "additionalProperties": True}},
            },
            "additionalProperties": True,
        }
    },
    "additionalProperties": True,
}
BEARER_SCHEME = {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
STATUS_DESCRIPTIONS = {
    400: "The request cannot be read",
    401: "No token, or a token that is not valid (expired, tampered, wrong issuer or audience)",
    403: "Signed in, but this is not yours to see or change",
    404: "No such resource (or one you may not know of)",
    405: "This method is not allowed on this resource",
    409: "Conflicts with the current state",
    412: "The resource changed since you read it (If-Match)",
    413: "The request body is too large",
    415: "This content type is not accepted",
    422: "The request is not valid; `message` and `details` name the field",
    429: "Too many requests; see Retry-After",
    502: "A service behind the gateway cannot be reached",
    503: "Temporarily unavailable (e.g. the database); see Retry-After",
    504: "A service behind the gateway did not answer in time",
}
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_FASTAPI_ERROR_SCHEMAS = ("HTTPValidationError", "ValidationError")


def error_response(status: int) -> dict[str, Any]:
    return {"description": STATUS_DESCRIPTIONS.get(status, "Error"),
            "content": {"application/json": {"schema": {"$ref": ERROR_REF}}}}


def needs_principal(route: Any) -> bool:
    """Whether any dependency of the route reads the caller's token."""
    from privacy_kit import auth

    token_readers = {auth._principal, auth.current_principal, auth.bearer_token}
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        if dependant.call in token_readers:
            return True
        pending.extend(dependant.dependencies)
    return False


def route_statuses(route: Any) -> set[int]:
    """The error statuses this route can answer, from what it takes and what it checks."""
    dependant = route.dependant
    methods = set(route.methods or ())
    takes_body = route.body_field is not None or bool(methods & WRITES)
    # Path parameters may be read by a dependency rather than the view: the path says it.
    names_resource = "{" in route.path_format
    statuses = {503}
    if names_resource or takes_body or _any_params(dependant):
        statuses.add(422)
    if takes_body:
        statuses.add(413)
    if needs_principal(route):
        statuses |= {401, 403}
    if names_resource or methods & WRITES:
        statuses.add(404)
    if methods & WRITES:
        statuses.add(409)
    if "if-match" in _header_names(dependant):
        statuses.add(412)
    return statuses


def _dependants(dependant: Any) -> list[Any]:
    found, pending = [], [dependant]
    while pending:
        current = pending.pop()
        found.append(current)
        pending.extend(current.dependencies)
    return found


def _any_params(dependant: Any) -> bool:
    return any(d.path_params or d.query_params or d.header_params
               for d in _dependants(dependant))


def _header_names(dependant: Any) -> set[str]:
    return {str(getattr(param, "alias", None) or param.name).lower()
            for d in _dependants(dependant) for param in d.header_params}


def make_truthful(document: dict[str, Any], routes: list[Any]) -> dict[str, Any]:
    """Rewrite a generated document in place (see the module docstring) and return it."""
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in _FASTAPI_ERROR_SCHEMAS:
        schemas.pop(name, None)
    schemas["Error"] = ERROR_SCHEMA
    by_operation = {(route.path_format, method.lower()): route for route in routes
                    for method in route.methods or ()}
    secured = False
    for path, operations in (document.get("paths") or {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            route = by_operation.get((path, method))
            responses = operation["responses"]
            statuses = route_statuses(route) if route is not None else {422, 503}
            if route is not None and needs_principal(route):
                operation.setdefault("security", [{"bearerAuth": []}])
                secured = True
            for status in statuses:
                responses.setdefault(str(status), error_response(status))
            for status, response in responses.items():
                if status.isdigit() and int(status) >= 400:
                    _error_body(int(status), response)
    if secured:
        components.setdefault("securitySchemes", {}).update(BEARER_SCHEME)
    return document


def _error_body(status: int, response: dict[str, Any]) -> None:
    content = response.setdefault("content", {})
    media = content.setdefault("application/json", {})
    schema = media.get("schema")
    if not schema or _refers_to_fastapi_error(schema):
        media["schema"] = {"$ref": ERROR_REF}
    if response.get("description") in (None, "", "Validation Error"):
        response["description"] = STATUS_DESCRIPTIONS.get(status, "Error")


def _refers_to_fastapi_error(schema: Any) -> bool:
    ref = schema.get("$ref", "") if isinstance(schema, dict) else ""
    return any(ref.endswith(f"/{name}") for name in _FASTAPI_ERROR_SCHEMAS)


def api_routes(app: FastAPI) -> list[Any]:
    """Every documented API route with its effective path, methods and dependencies (FastAPI
    keeps included routers apart; this sees through them)."""
    return [route for route in iter_route_contexts(app.routes)
            if getattr(route, "dependant", None) is not None
            and getattr(route, "include_in_schema", False)]


def truthful_openapi(app: FastAPI) -> None:
    """Make `app.openapi()` (and /openapi.json) return the post-processed document."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            app.openapi_schema = make_truthful(document, api_routes(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
