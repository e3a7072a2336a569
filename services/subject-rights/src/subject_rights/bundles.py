"""The access/portability bundle (O19): every store's export, asked over HTTP at once, in one
zip: a JSON file per store, a CSV file per table, per category the purposes, legal bases,
sources, recipients and retention from the processing register, and who read the person's
data. A store that did not answer makes the bundle incomplete and is named; it is never
silently partial. Bundles are kept for a limited time, then deleted; every download is logged.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import orjson

from subject_rights import clients
from subject_rights.settings import Settings

REGISTER = "processing-register (retention)"


@dataclass
class Bundle:
    content: bytes
    complete: bool
    stores: dict[str, str]
    created_at: datetime


def _tables(value: Any, path: list[str]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Every list of records in an export, named by where it sits ('records' left out)."""
    found: list[tuple[str, list[dict[str, Any]]]] = []
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        found.append((".".join(p for p in path if p != "records") or "data", value))
    elif isinstance(value, dict):
        if value and path and all(isinstance(v, dict) for v in value.values()) and all(
                not isinstance(x, dict | list) for v in value.values() for x in v.values()):
            found.append((".".join(path), [{"key": k, **v} for k, v in value.items()]))
        else:
            for key, inner in value.items():
                found.extend(_tables(inner, [*path, str(key)]))
    return found


def _cell(value: Any) -> Any:
    return orjson.dumps(value).decode() if isinstance(value, dict | list) else value


def _csv(records: list[dict[str, Any]]) -> str:
    columns = list(dict.fromkeys(k for record in records for k in record))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerows([_cell(r.get(c)) for c in columns] for r in records)
    return out.getvalue()


def _sources(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = {str(value["source"])} if isinstance(value.get("source"), str) else set()
        for inner in value.values():
            found |= _sources(inner)
        return found
    if isinstance(value, list):
        return set().union(*(_sources(v) for v in value)) if value else set()
    return set()


def _categories(register: dict[str, Any] | None,
                exports: dict[str, clients.StoreExport]) -> list[dict[str, Any]]:
    """Per category of each store that answered: why, on which basis, from where, to whom,
    for how long (Art. 15(1)(a)-(d), (g))."""
    if register is None:
        return []
    out = []
    for store in register.get("stores", []):
        export = exports.get(store["store"])
        sources = sorted(_sources(export.data)) if export and export.data else []
        for category in store.get("categories", []):
            if not category.get("personal", True):
                continue
            out.append({
                "store": store["store"], "category": category["name"],
                "fields": category.get("fields", []), "purpose": category["purpose"],
                "legal_basis": category["legal_basis"],
                "retention": category["retention_rule"],
                "recipients": category.get("recipients", []), "sources": sources,
            })
    return out


def _readers(exports: dict[str, clients.StoreExport]) -> list[dict[str, Any]]:
    """Who read the person's data (O3): the access logs the stores export."""
    readers: list[dict[str, Any]] = []
    for export in exports.values():
        if not export.data:
            continue
        for key in ("recipients", "access_log"):
            section = export.data.get(key)
            records = section.get("records") if isinstance(section, dict) else section
            if isinstance(records, list):
                readers.extend({"store": export.store, **r} for r in records if isinstance(r, dict))
    return readers


def _dump(value: Any) -> bytes:
    return orjson.dumps(value, default=str, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)


async def assemble(
    client: httpx.AsyncClient, settings: Settings, *, case_id: uuid.UUID, subject_id: str,
    kind: str,
) -> Bundle:
    exports, (register, register_error) = await asyncio.gather(
        clients.exports(client, settings, subject_id), clients.processing_register(client, settings))
    stores = {name: "included" if e.error is None else f"failed: {e.error}"
              for name, e in sorted(exports.items())}
    stores[REGISTER] = "included" if register_error is None else f"failed: {register_error}"
    complete = all(v == "included" for v in stores.values())
    created = datetime.now(UTC)
    manifest = {
        "request_id": str(case_id), "kind": kind, "subject_id": subject_id,
        "created_at": created.isoformat(), "complete": complete, "stores": stores,
        "missing": sorted(k for k, v in stores.items() if v != "included"),
        "files": "stores/<store>.json: everything the store holds on you; "
                 "tables/<store>/<table>.csv: the same, table by table (portability); "
                 "categories.json: purposes, legal bases, sources, recipients and retention; "
                 "who_read_your_data.json: every read of your data by someone else",
    }
    buffer = io.BytesIO()
    # Level 1: most of the size gain at a fraction of the time of the default.
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("manifest.json", _dump(manifest))
        for name, export in sorted(exports.items()):
            if export.data is None:
                continue
            zf.writestr(f"stores/{name}.json", _dump(export.data))
            for table, records in _tables(export.data, []):
                zf.writestr(f"tables/{name}/{table}.csv", _csv(records))
        zf.writestr("categories.json", _dump(_categories(register, exports)))
        zf.writestr("who_read_your_data.json", _dump(_readers(exports)))
    return Bundle(buffer.getvalue(), complete, stores, created)


async def store(
    conn: asyncpg.Connection, settings: Settings, case_id: uuid.UUID, bundle: Bundle
) -> uuid.UUID:
    bundle_id = uuid.uuid4()
    await conn.execute(
        """INSERT INTO access_bundle (id, request_id, created_at, expires_at, complete, stores,
               size_bytes, content) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8)""",
        bundle_id, case_id, bundle.created_at,
        bundle.created_at + timedelta(seconds=settings.bundle_ttl_s), bundle.complete,
        json.dumps(bundle.stores), len(bundle.content), bundle.content)
    return bundle_id


async def delete_expired(conn: asyncpg.Connection) -> int:
    rows = await conn.fetch("DELETE FROM access_bundle WHERE expires_at <= now() RETURNING id")
    return len(rows)
