"""One OpenAPI document for the public API, merged from every upstream's /openapi.json.

Only /v1 paths are kept (never /internal, /healthz of a service or anything else), with the
schemas they reference. A schema name two services use for different shapes is prefixed with
the service's name in the second one. An upstream that cannot be reached is left out until
it answers again.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from typing import Any

import httpx
from opentelemetry.instrumentation.utils import suppress_instrumentation

from gateway.proxy import Upstreams
from gateway.routes import ROUTES, Route
from privacy_kit.openapi import ERROR_SCHEMA, WRITES, error_response

log = logging.getLogger(__name__)

SCHEMA_REF = "#/components/schemas/"
BEARER = {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
_FAILURE_CACHE_S = 5.0

DESCRIPTION = """\
The public API of the Privacy Suite. Send `Authorization: Bearer <JWT>` (claims `sub`,
`tenant`, `roles`, `exp`). Every refusal and failure answers `{"error": {"code", "message"}}`:
401 without a valid token, 403 for what is not yours, 429 when too fast, 502 or 504 when a
service cannot be reached in time. Send `X-Request-ID` to follow a request through the logs.
"""


class OpenApiMerger:
    def __init__(self, upstreams: Upstreams, *, cache_s: float, fetch_timeout_s: float,
                 routes: tuple[Route, ...] = ROUTES) -> None:
        self.upstreams = upstreams
        self.cache_s = cache_s
        self.fetch_timeout_s = fetch_timeout_s
        self.routes = routes
        self._cache: dict[str, tuple[float, dict[str, Any] | None]] = {}

    async def document(self) -> dict[str, Any]:
        names = list(self.upstreams.urls)
        with suppress_instrumentation():
            docs = await asyncio.gather(*(self._upstream_doc(n) for n in names))
        return merge_documents(
            {n: d for n, d in zip(names, docs, strict=True) if d is not None}, self.routes
        )

    async def _upstream_doc(self, name: str) -> dict[str, Any] | None:
        now = time.monotonic()
        cached = self._cache.get(name)
        if cached is not None:
            fetched_at, known = cached
            if now - fetched_at < (self.cache_s if known is not None else _FAILURE_CACHE_S):
                return known
        doc: dict[str, Any] | None = None
        try:
            answer = await self.upstreams.client(name).get(
                "/openapi.json", timeout=self.fetch_timeout_s
            )
            answer.raise_for_status()
            doc = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.info("no OpenAPI document from %s: %s", name, exc)
        self._cache[name] = (now, doc)
        return doc


def merge_documents(
    docs: dict[str, dict[str, Any]], routes: tuple[Route, ...] = ROUTES
) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {"/healthz": _HEALTHZ}
    schemas: dict[str, Any] = {}
    security_schemes: dict[str, Any] = dict(BEARER)
    tags: list[dict[str, Any]] = [{"name": "health"}]
    for upstream, doc in docs.items():
        doc_paths = {p: ops for p, ops in (doc.get("paths") or {}).items() if p.startswith("/v1/")}
        components = doc.get("components") or {}
        doc_schemas = components.get("schemas") or {}
        used = _referenced_schemas(doc_paths, doc_schemas)
        renames = {
            name: f"{_pascal(upstream)}{name}"
            for name in used
            if name in schemas and schemas[name] != doc_schemas[name]
        }
        for name in sorted(used):
            schemas[renames.get(name, name)] = _rename_refs(doc_schemas[name], renames)
        for path, operations in doc_paths.items():
            merged = paths.setdefault(path, {})
            for method, operation in _rename_refs(operations, renames).items():
                if method in merged:
                    log.warning("%s %s is served by two services; keeping the first", method, path)
                    continue
                merged[method] = _decorate(operation, upstream, method, path, routes)
        security_schemes.update(components.get("securitySchemes") or {})
        known = {t["name"] for t in tags}
        tags += [t for t in doc.get("tags") or [] if t.get("name") not in known]
    schemas["Error"] = ERROR_SCHEMA
    return {
        "openapi": "3.1.0",
        "info": {"title": "Privacy Suite API", "version": "1", "description": DESCRIPTION},
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": security_schemes},
        "security": [{"bearerAuth": []}],
        "tags": tags,
    }


def _decorate(operation: Any, upstream: str, method: str, path: str,
              routes: tuple[Route, ...]) -> Any:
    if not isinstance(operation, dict):  # path-level "parameters", "summary" and the like
        return operation
    operation = dict(operation)
    operation.setdefault("tags", [upstream])
    route = next((r for r in routes if r.matches(method, path)), None)
    # What the gateway itself may answer, besides what the service does.
    responses = operation.setdefault("responses", {})
    gateway_statuses = [429, 502, 504] + ([413] if method.upper() in WRITES else [])
    if route is None or not route.public:
        gateway_statuses += [401, 403]
    for status in gateway_statuses:
        responses.setdefault(str(status), error_response(status))
    if route is not None and route.public:
        operation["security"] = []
    elif route is not None and route.roles:
        roles = ", ".join(sorted(route.roles))
        note = f"Roles: {roles}."
        description = operation.get("description") or ""
        operation["description"] = f"{description}\n\n{note}".strip()
    return operation


def _referenced_schemas(paths: dict[str, Any], schemas: dict[str, Any]) -> set[str]:
    """Every schema the paths reach, directly or through other schemas."""
    found: set[str] = set()
    pending = list(_refs_in(paths))
    while pending:
        name = pending.pop()
        if name in found or name not in schemas:
            continue
        found.add(name)
        pending.extend(_refs_in(schemas[name]))
    return found


def _refs_in(node: Any) -> list[str]:
    refs: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(SCHEMA_REF):
                refs.append(value.removeprefix(SCHEMA_REF))
            else:
                refs.extend(_refs_in(value))
    elif isinstance(node, list):
        for item in node:
            refs.extend(_refs_in(item))
    return refs


def _rename_refs(node: Any, renames: dict[str, str]) -> Any:
    if not renames:
        return copy.deepcopy(node)
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(SCHEMA_REF):
                name = value.removeprefix(SCHEMA_REF)
                out[key] = SCHEMA_REF + renames.get(name, name)
            else:
                out[key] = _rename_refs(value, renames)
        return out
    if isinstance(node, list):
        return [_rename_refs(item, renames) for item in node]
    return node


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-"))


_HEALTHZ: dict[str, Any] = {
    "get": {
        "tags": ["health"],
        "summary": "Can the gateway serve, and how is each service?",
        "description": (
            "200 whenever the gateway itself can serve. `status` is `degraded` when a service "
            "is unavailable; `upstreams` gives each service's state and its own health body."
        ),
        "security": [],
        "responses": {"200": {"description": "The gateway's state and each upstream's."},
                      "429": error_response(429)},
    }
}
