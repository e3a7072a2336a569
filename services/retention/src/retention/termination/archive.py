"""The tenant's export archive (O18): one zip gathered from every store's internal export.

    manifest.json                     counts per store, category, table and file
    README.txt                        what the files are
    <store>/<category>.jsonl          one JSON object per line: category, table, record
    <store>/<table>.csv               the same records as a table, one file per table

Built in a worker thread with plain blocking I/O: the stores' JSON lines are streamed in and
written straight into the zip (a file on local disk); the CSV tables go through spooled
temporary files. Memory stays flat whatever the tenant's size.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from typing import IO, Any

import httpx

README = """\
The data of one client organisation, handed over at the end of its contract (GDPR Art. 28(3)(g)).

manifest.json        how many records each store, category, table and file holds
<store>/<category>.jsonl
                     one JSON object per line: {"category", "table", "record"}
<store>/<table>.csv  the same records as tables (nested values as JSON), UTF-8, comma separated

Ids are the platform's pseudonymous ids: the same person has the same id in every store.
"""


class ExportFailed(Exception):
    """The archive could not be made complete; the message names the store and why."""


_PLAIN = (str, int, float)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class _Table:
    """One CSV table, spooled to disk past a few MiB."""

    def __init__(self) -> None:
        self.file = tempfile.SpooledTemporaryFile(max_size=4 << 20, mode="w+", newline="",
                                                  encoding="utf-8")
        self.writer = csv.writer(self.file)
        self.columns: list[str] | None = None
        self.rows = 0

    def add(self, record: dict[str, Any]) -> None:
        if self.columns is None:
            self.columns = list(record)
            self.writer.writerow(self.columns)
        self.writer.writerow([v if type(v) in _PLAIN else _cell(v)
                              for v in map(record.get, self.columns)])
        self.rows += 1

    def copy_to(self, target: IO[bytes]) -> None:
        self.file.seek(0)
        text = io.TextIOWrapper(target, encoding="utf-8", newline="", write_through=True)
        shutil.copyfileobj(self.file, text, 1 << 20)
        text.flush()
        text.detach()  # the zip entry is closed by its owner, not by the wrapper
        self.file.close()


def _lines(response: httpx.Response) -> Iterator[str]:
    for line in response.iter_lines():
        if line:
            yield line


def _store_into(zf: zipfile.ZipFile, response: httpx.Response, store: str,
                files: dict[str, int]) -> dict[str, Any]:
    lines = _lines(response)
    head = json.loads(next(lines, "{}"))
    if head.get("store") != store:
        raise ExportFailed(f"{store} answered as {head.get('store')!r}")
    categories: dict[str, int] = {}
    tables: dict[str, _Table] = {}
    current: str | None = None
    jsonl: IO[bytes] | None = None
    pending: list[str] = []  # lines of the current category not yet compressed
    end: dict[str, Any] | None = None

    def flush() -> None:
        if jsonl is not None and pending:
            jsonl.write("".join(pending).encode())
            pending.clear()

    try:
        for line in lines:
            item = json.loads(line)
            if item.get("end"):
                end = item
                break
            category, table = str(item["category"]), str(item["table"])
            if category != current:
                flush()
                if jsonl is not None:
                    jsonl.close()
                if category in categories:
                    raise ExportFailed(f"{store} sent category {category!r} in two runs")
                current, categories[category] = category, 0
                jsonl = zf.open(f"{store}/{category}.jsonl", "w", force_zip64=True)
            pending.append(line + "\n")
            if len(pending) >= 2000:
                flush()
            categories[category] += 1
            if table not in tables:
                tables[table] = _Table()
            tables[table].add(item["record"])
        flush()
    finally:
        if jsonl is not None:
            jsonl.close()
    total = sum(categories.values())
    if end is None or end.get("records") != total:
        raise ExportFailed(f"{store}'s export was cut off after {total} records")
    for category, count in categories.items():
        files[f"{store}/{category}.jsonl"] = count
    for table, spool in tables.items():
        with zf.open(f"{store}/{table}.csv", "w", force_zip64=True) as target:
            spool.copy_to(target)
        files[f"{store}/{table}.csv"] = spool.rows
    return {"records": total, "categories": categories,
            "tables": {name: t.rows for name, t in tables.items()}}


def build(*, out: IO[bytes], sources: dict[str, str], tenant_id: str, token: str,
          meta: dict[str, Any], timeout_s: float = 60.0) -> dict[str, Any]:
    """Write the archive into `out`; returns its manifest. `sources`: store name → base URL."""
    manifest: dict[str, Any] = {"format": 1, "tenant_id": tenant_id, **meta, "stores": {},
                                "files": {}}
    headers = {"Authorization": f"Bearer {token}"}
    timeout = httpx.Timeout(timeout_s, read=timeout_s * 5)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf, \
            httpx.Client(timeout=timeout, headers=headers) as client:
        for store, base in sorted(sources.items()):
            url = f"{base.rstrip('/')}/internal/tenants/{tenant_id}/export"
            try:
                with client.stream("GET", url) as response:
                    if response.status_code != 200:
                        raise ExportFailed(f"{store} answered {response.status_code}")
                    manifest["stores"][store] = _store_into(zf, response, store,
                                                            manifest["files"])
            except httpx.HTTPError as exc:
                raise ExportFailed(f"{store} could not be reached: {type(exc).__name__}") from exc
        zf.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
        zf.writestr("README.txt", README)
    return manifest
