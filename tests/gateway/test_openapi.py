"""/openapi.json describes the public API: every upstream's /v1 paths, nothing internal."""

from __future__ import annotations

from devstack.testing import app_client
from gateway.main import create_app
from gateway.openapi import merge_documents
from gateway.settings import Settings


async def test_merges_upstream_v1_paths_and_drops_internal(gateway_settings: Settings) -> None:
    async with app_client(create_app(gateway_settings)) as client:
        response = await client.get("/openapi.json")
        docs = await client.get("/docs")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    assert "/v1/purposes" in paths
    assert not any(p.startswith("/internal") for p in paths)
    assert "/healthz" in paths  # the gateway's own, described once
    schemas = document["components"]["schemas"]
    assert "Purpose" in schemas
    assert "ExportBundle" not in schemas  # only referenced by /internal
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert document["security"] == [{"bearerAuth": []}]
    # GET /v1/purposes is public: no token needed, and the document says so.
    assert paths["/v1/purposes"]["get"]["security"] == []
    assert docs.status_code == 200 and "/openapi.json" in docs.text


def _doc(path: str, schema: dict, *, internal: bool = False) -> dict:
    ref = {"$ref": "#/components/schemas/Thing"}
    paths = {
        path: {"get": {"responses": {"200": {"content": {"application/json": {"schema": ref}}}}}},
    }
    if internal:
        paths["/internal/export/{subject_id}"] = {"get": {"responses": {}}}
    return {"openapi": "3.1.0", "paths": paths, "components": {"schemas": {"Thing": schema}}}


def test_same_schema_name_with_different_shapes_is_kept_apart() -> None:
    tenant_thing = {"type": "object", "properties": {"name": {"type": "string"}}}
    breach_thing = {"type": "object", "properties": {"severity": {"type": "integer"}}}
    merged = merge_documents({
        "training-records": _doc("/v1/tenants", tenant_thing, internal=True),
        "breach": _doc("/v1/breaches", breach_thing),
    })
    schemas = merged["components"]["schemas"]
    assert schemas["Thing"] == tenant_thing
    assert schemas["BreachThing"] == breach_thing
    breach_ref = merged["paths"]["/v1/breaches"]["get"]["responses"]["200"]["content"][
        "application/json"]["schema"]["$ref"]
    assert breach_ref == "#/components/schemas/BreachThing"
    assert set(merged["paths"]) == {"/healthz", "/v1/tenants", "/v1/breaches"}
    assert merged["paths"]["/v1/breaches"]["get"]["tags"] == ["breach"]
    assert "dpo" in merged["paths"]["/v1/breaches"]["get"]["description"]
