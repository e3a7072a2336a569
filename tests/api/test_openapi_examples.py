"""The merged public OpenAPI document, as the gateway serves it, gives an example for every
request body, so that a developer can try each operation from /docs."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from breach.main import create_app as breach_app
from consent.main import create_app as consent_app
from gateway.openapi import merge_documents
from retention.main import create_app as retention_app
from subject_rights.main import create_app as subject_rights_app
from training_records.main import create_app as training_records_app

REF = "#/components/schemas/"


def services() -> dict[str, FastAPI]:
    # Nothing connects until a lifespan runs: building the apps only reads their routes.
    return {
        "training-records": training_records_app(), "consent": consent_app(),
        "retention": retention_app(), "breach": breach_app(),
        "subject-rights": subject_rights_app(),
    }


def merged_document() -> dict[str, Any]:
    return merge_documents({name: app.openapi() for name, app in services().items()})


def _resolve(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = schemas[schema["$ref"].removeprefix(REF)]
    return schema


def _has_example(media: dict[str, Any], schemas: dict[str, Any]) -> bool:
    if media.get("example") is not None or media.get("examples"):
        return True
    schema = _resolve(media.get("schema") or {}, schemas)
    return bool(schema.get("examples") or schema.get("example") is not None)


def test_every_request_body_has_an_example() -> None:
    document = merged_document()
    schemas = document["components"]["schemas"]
    missing = []
    bodies = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody") if isinstance(operation, dict) else None
            if not body:
                continue
            for media_type, media in body.get("content", {}).items():
                bodies += 1
                if not _has_example(media, schemas):
                    missing.append(f"{method.upper()} {path} ({media_type})")
    assert bodies > 20
    assert missing == [], "request bodies without an example:\n" + "\n".join(missing)


def test_every_post_documents_idempotency_key() -> None:
    document = merged_document()
    posts = [(path, ops["post"]) for path, ops in document["paths"].items() if "post" in ops]
    assert len(posts) > 10
    for path, operation in posts:
        names = [p["name"] for p in operation.get("parameters", [])]
        assert names.count("Idempotency-Key") == 1, path
