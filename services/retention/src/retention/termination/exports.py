"""The tenant's export (O18): requested until the contract's end, gathered in the background
from every store over HTTP with the kit's service token, kept in the database in chunks,
downloadable by the tenant's Beheerders only until it expires, every download logged."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import tempfile
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import IO

import asyncpg
from fastapi import FastAPI

from privacy_kit.auth import mint_service_token
from privacy_kit.db import rows_affected
from privacy_kit.worker import cancel_and_wait
from retention.register import service as register
from retention.settings import Settings
from retention.termination import archive

log = logging.getLogger(__name__)

CHUNK = 1 << 20


class ContractEnded(Exception):
    """The export is offered until the contract's end."""


class NotAvailable(Exception):
    """Not ready yet, failed, or expired; the message says which."""


async def request(
    *, conn: asyncpg.Connection, termination_id: uuid.UUID, actor: str
) -> uuid.UUID:
    row = await conn.fetchrow(
        "SELECT tenant_id, status, ends_at FROM contract_termination WHERE id = $1 FOR SHARE",
        termination_id)
    assert row is not None
    if row["status"] not in ("scheduled",) or row["ends_at"] <= datetime.now(UTC):
        raise ContractEnded(row["ends_at"])
    export_id = uuid.uuid4()
    await conn.execute(
        """INSERT INTO tenant_export (id, termination_id, tenant_id, requested_by)
           VALUES ($1, $2, $3, $4)""", export_id, termination_id, row["tenant_id"], actor)
    return export_id


def start_gathering(app: FastAPI, export_id: uuid.UUID) -> None:
    """Gather in the background; the task is kept so that it is not collected, and stopped
    with the app."""
    tasks: set[asyncio.Task[None]] | None = getattr(app.state, "export_tasks", None)
    if tasks is None:
        tasks = app.state.export_tasks = set()
    task = asyncio.create_task(gather(pool=app.state.pool, settings=app.state.settings,
                                      export_id=export_id), name=f"tenant-export-{export_id}")
    tasks.add(task)
    task.add_done_callback(tasks.discard)


async def stop(app: FastAPI) -> None:
    for task in list(getattr(app.state, "export_tasks", ())):
        await cancel_and_wait(task, task.get_name())


async def gather(*, pool: asyncpg.Pool, settings: Settings, export_id: uuid.UUID) -> None:
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM tenant_export WHERE id = $1", export_id)
        stores = await register.stores_with_personal_data(conn=conn)
    assert row is not None
    try:
        urls = settings.store_urls
        unknown = [s for s in stores if s not in urls]
        if unknown:
            raise archive.ExportFailed(f"no address configured for {', '.join(unknown)}")
        meta = {"termination_id": str(row["termination_id"]), "export_id": str(export_id),
                "generated_at": datetime.now(UTC).isoformat()}
        with tempfile.TemporaryFile() as out:
            manifest = await asyncio.to_thread(
                archive.build, out=out, sources={s: urls[s] for s in stores},
                tenant_id=row["tenant_id"], token=mint_service_token(settings), meta=meta)
            await _store(pool, export_id, out, manifest,
                         ttl=timedelta(seconds=settings.tenant_export_ttl_s))
    except archive.ExportFailed as exc:
        await _fail(pool, export_id, str(exc))
    except Exception as exc:
        log.exception("tenant export %s failed", export_id)
        await _fail(pool, export_id, f"unexpected error: {type(exc).__name__}")


async def _store(pool: asyncpg.Pool, export_id: uuid.UUID, out: IO[bytes],
                 manifest: dict[str, object], ttl: timedelta) -> None:
    size = out.tell()
    out.seek(0)
    digest = hashlib.sha256()
    async with pool.acquire() as conn, conn.transaction():
        seq = 0
        while chunk := out.read(CHUNK):
            digest.update(chunk)
            await conn.execute(
                "INSERT INTO tenant_export_chunk (export_id, seq, data) VALUES ($1, $2, $3)",
                export_id, seq, chunk)
            seq += 1
        await conn.execute(
            """UPDATE tenant_export SET status = 'ready', ready_at = now(),
                   expires_at = now() + $2::interval, size_bytes = $3, sha256 = $4,
                   manifest = $5::jsonb WHERE id = $1 AND status = 'preparing'""",
            export_id, ttl, size, digest.hexdigest(), json.dumps(manifest))


async def _fail(pool: asyncpg.Pool, export_id: uuid.UUID, error: str) -> None:
    async with pool.acquire() as conn:
        await conn.execute(
            """UPDATE tenant_export SET status = 'failed', error = $2
               WHERE id = $1 AND status = 'preparing'""", export_id, error[:500])


async def open_download(
    *, conn: asyncpg.Connection, termination_id: uuid.UUID, export_id: uuid.UUID, actor: str
) -> asyncpg.Record:
    """The export's row, with this download logged; NotAvailable unless ready and current."""
    row = await conn.fetchrow(
        "SELECT * FROM tenant_export WHERE id = $1 AND termination_id = $2 FOR SHARE",
        export_id, termination_id)
    if row is None:
        raise LookupError(export_id)
    if row["status"] == "ready" and row["expires_at"] <= datetime.now(UTC):
        raise NotAvailable("expired")
    if row["status"] != "ready":
        raise NotAvailable(row["status"])
    await conn.execute(
        "INSERT INTO tenant_export_download (export_id, downloaded_by) VALUES ($1, $2)",
        export_id, actor)
    return row


async def chunks(pool: asyncpg.Pool, export_id: uuid.UUID) -> AsyncIterator[bytes]:
    """The archive's bytes, one chunk in memory at a time."""
    seq = 0
    while True:
        async with pool.acquire() as conn:
            data = await conn.fetchval(
                "SELECT data FROM tenant_export_chunk WHERE export_id = $1 AND seq = $2",
                export_id, seq)
        if data is None:
            return
        yield bytes(data)
        seq += 1


async def expire(*, conn: asyncpg.Connection, gather_timeout: timedelta) -> int:
    """Expired archives are deleted; gatherings that never finished are given up."""
    expired = await conn.fetch(
        """UPDATE tenant_export SET status = 'expired'
           WHERE status = 'ready' AND expires_at <= now() RETURNING id""")
    await conn.execute(
        """UPDATE tenant_export SET status = 'failed',
               error = 'not finished in time (was the service restarted?); ask again'
           WHERE status = 'preparing' AND requested_at < now() - $1::interval""",
        gather_timeout)
    if expired:
        await conn.execute("DELETE FROM tenant_export_chunk WHERE export_id = ANY($1::uuid[])",
                           [r["id"] for r in expired])
    return len(expired)


async def erase_tenant(*, conn: asyncpg.Connection, tenant_id: str) -> dict[str, int]:
    """The tenant's archives go with the tenant; who downloaded them is no longer kept either."""
    exports = [r["id"] for r in await conn.fetch(
        "SELECT id FROM tenant_export WHERE tenant_id = $1", tenant_id)]
    chunks_deleted = rows_affected(await conn.execute(
        "DELETE FROM tenant_export_chunk WHERE export_id = ANY($1::uuid[])", exports))
    await conn.execute(
        """UPDATE tenant_export SET status = CASE WHEN status IN ('ready', 'preparing')
               THEN 'expired' ELSE status END, requested_by = 'erased' WHERE tenant_id = $1""",
        tenant_id)
    downloads = rows_affected(await conn.execute(
        """UPDATE tenant_export_download SET downloaded_by = 'erased'
           WHERE export_id = ANY($1::uuid[]) AND downloaded_by <> 'erased'""", exports))
    await conn.execute(
        """UPDATE contract_termination SET recorded_by = 'erased',
               cancelled_by = CASE WHEN cancelled_by IS NULL THEN NULL ELSE 'erased' END
           WHERE tenant_id = $1""", tenant_id)
    return {"tenant_exports": chunks_deleted, "tenant_export_downloads": downloads}
