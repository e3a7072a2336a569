"""Every service's OpenAPI document, and the gateway's merged one, tell the truth about errors:
one shared `Error` schema (the real `{"error": {"code", "message"}}`), never FastAPI's
`HTTPValidationError`, and the statuses a route can answer declared."""

from __future__ import annotations

import json

import httpx
import jsonschema_rs
from fastapi import FastAPI

from devstack.testing import auth
from gateway.openapi import merge_documents
from privacy_kit.openapi import ERROR_SCHEMA

Services = dict[str, tuple[FastAPI, httpx.AsyncClient]]
METHODS = ("get", "put", "post", "delete", "patch")


def _operations(document: dict):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method in METHODS:
                yield path, method, operation


def _check(document: dict, where: str) -> int:
    text = json.dumps(document)
    assert "HTTPValidationError" not in text, where
    assert document["components"]["schemas"]["Error"] == ERROR_SCHEMA
    checked = 0
    for path, method, operation in _operations(document):
        responses = operation["responses"]
        codes = {int(c) for c in responses if c.isdigit()}
        if path != "/healthz":
            assert 503 in codes or 502 in codes, (where, method, path)
        has_input = "parameters" in operation or "requestBody" in operation
        if has_input:
            assert 422 in codes, (where, method, path)
        if "requestBody" in operation:
            assert 413 in codes, (where, method, path)
        if operation.get("security", document.get("security")) not in (None, []):
            assert {401, 403} <= codes, (where, method, path)
        if "{" in path:
            assert 404 in codes, (where, method, path)
        for code in codes:
            if code >= 400:
                schema = responses[str(code)]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"} or code == 422, \
                    (where, method, path, code)
        checked += 1
    return checked


async def test_every_service_declares_its_errors_with_the_shared_schema(services: Services) -> None:
    for name, (_app, client) in services.items():
        served = (await client.get("/openapi.json")).json()
        assert _check(served, name) > 0


async def test_the_gateways_merged_document_declares_its_own_statuses_too(
    services: Services,
) -> None:
    merged = merge_documents({n: app.openapi() for n, (app, _) in services.items()})
    assert _check(merged, "gateway") > 20
    for path, method, operation in _operations(merged):
        if path == "/healthz":
            continue
        codes = set(operation["responses"])
        assert {"429", "502", "504"} <= codes, (method, path)
        if operation.get("security") == []:
            # Public routes that also read a token when one is sent (a signed-in visitor's
            # cookie choices, a signed-in person entering their identity code) may answer 401.
            optional_token = path.startswith("/v1/cookie") or path.endswith("/verification")
            assert "401" not in codes or optional_token, (method, path)


async def test_real_errors_match_the_documented_schema(services: Services) -> None:
    """One real error of each kind, from each service, validates against `Error`."""
    for name, (_, client) in services.items():
        answers = [
            await client.get("/v1/no-such-thing"),
            await client.post("/v1/anything", content=b"{"),
        ]
        document = (await client.get("/openapi.json")).json()
        path, method, _ = next((p, m, o) for p, m, o in _operations(document)
                               if o.get("security"))
        path = path.replace("{", "").replace("}", "")
        answers.append(await client.request(method, path))  # no token: 401
        answers.append(await client.request(method, path, headers=auth("participant", sub="x"),
                                            json={}))
        for answer in answers:
            assert answer.status_code >= 400, (name, answer.status_code)
            jsonschema_rs.validate(ERROR_SCHEMA, answer.json())
