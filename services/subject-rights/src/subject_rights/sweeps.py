"""Background work: raise cases due within three days and overdue cases (once each, O21);
delete expired access bundles (O19)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import asyncpg
from fastapi import FastAPI

from privacy_kit.outbox import emit
from privacy_kit.protocol import SubjectRequestDueSoon, SubjectRequestOverdue
from privacy_kit.worker import cancel_and_wait
from subject_rights import bundles
from subject_rights.cases.models import CLOSED
from subject_rights.settings import Settings

log = logging.getLogger(__name__)
SOURCE = "subject-rights"


async def raise_deadlines(
    conn: asyncpg.Connection, settings: Settings, now: datetime | None = None
) -> dict[str, int]:
    """Mark and announce open cases that became due soon or overdue since the last sweep."""
    now = now or datetime.now(UTC)
    soon = await conn.fetch(
        """UPDATE subject_request SET due_soon_raised_at = $2
           WHERE status <> ALL($1::text[]) AND due_soon_raised_at IS NULL
             AND due_at > $2 AND due_at <= $3
           RETURNING id, kind, due_at, subject_id, tenant_id""",
        list(CLOSED), now, now + timedelta(days=settings.due_soon_days))
    overdue = await conn.fetch(
        """UPDATE subject_request SET overdue_raised_at = $2
           WHERE status <> ALL($1::text[]) AND overdue_raised_at IS NULL AND due_at <= $2
           RETURNING id, kind, due_at, subject_id, tenant_id""",
        list(CLOSED), now)
    for rows, model in ((soon, SubjectRequestDueSoon), (overdue, SubjectRequestOverdue)):
        for r in rows:
            await emit(conn, model(request_id=r["id"], kind=r["kind"], due_at=r["due_at"]),
                       source=SOURCE, subject_id=r["subject_id"], tenant_id=r["tenant_id"],
                       correlation_id=str(r["id"]), key=str(r["id"]))
    return {"due_soon": len(soon), "overdue": len(overdue)}


async def sweep_once(pool: asyncpg.Pool, settings: Settings) -> dict[str, int]:
    async with pool.acquire() as conn, conn.transaction():
        raised = await raise_deadlines(conn, settings)
        raised["bundles_deleted"] = await bundles.delete_expired(conn)
        await conn.execute(
            "DELETE FROM erasure_job_outcome WHERE completed_at < now() - interval '7 days'")
    return raised


async def start(app: FastAPI) -> None:
    settings: Settings = app.state.settings

    async def loop() -> None:
        while True:
            try:
                counts = await sweep_once(app.state.pool, settings)
                if any(counts.values()):
                    log.info("subject request sweep: %s", counts)
            except Exception:
                log.exception("subject request sweep failed; trying again next round")
            await asyncio.sleep(settings.sweep_interval_s)

    app.state.sweep = asyncio.create_task(loop(), name="subject-request-sweep")


async def stop(app: FastAPI) -> None:
    task = getattr(app.state, "sweep", None)
    if task is not None:
        await cancel_and_wait(task, task.get_name())
