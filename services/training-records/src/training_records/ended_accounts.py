"""O25 for accounts a retention sweep ends: every other store is asked to erase the person too,
through retention (`subject.erasure_requested`, one per person).

A sweep may end thousands of accounts in one job. Emitting their requests in the job's own
transaction would put them in the outbox before the job's answer (`erasure.completed`, which
the kit writes after the erasure), and retention, handling events one by one, would see the
sweep finish only after thousands of follow-up jobs were created. So the erasure queues the
ids here, in its transaction (nothing is lost if the process stops), and a background task
turns them into requests right after the commit, in batches."""

from __future__ import annotations

import asyncio
import logging

import asyncpg
from fastapi import FastAPI

from privacy_kit.outbox import emit_many
from privacy_kit.protocol import SubjectErasureRequested
from privacy_kit.worker import cancel_and_wait
from training_records.settings import Settings

log = logging.getLogger(__name__)

STORE = "training-records"
BATCH = 1000


async def queue(conn: asyncpg.Connection, people: list[asyncpg.Record]) -> None:
    """In the erasure's transaction: these accounts (`id`, `tenant_id`) ended."""
    if not people:
        return
    await conn.execute(
        """INSERT INTO ended_account (subject_id, tenant_id)
           SELECT * FROM unnest($1::uuid[], $2::uuid[]) ON CONFLICT DO NOTHING""",
        [p["id"] for p in people], [p["tenant_id"] for p in people])


async def ask_erasure(conn: asyncpg.Connection, *, limit: int = BATCH) -> int:
    """Turn up to `limit` queued accounts into erasure requests, in the caller's transaction."""
    ended = await conn.fetch(
        """DELETE FROM ended_account WHERE subject_id IN (
               SELECT subject_id FROM ended_account ORDER BY ended_at, subject_id
               LIMIT $1 FOR UPDATE SKIP LOCKED)
           RETURNING subject_id, tenant_id""", limit)
    if not ended:
        return 0
    request = SubjectErasureRequested(reason="account_closed_term_ended",
                                      trigger="retention sweep")
    await emit_many(conn, [request] * len(ended), source=STORE,
                    subject_ids=[str(e["subject_id"]) for e in ended],
                    tenant_ids=[str(e["tenant_id"]) if e["tenant_id"] else None for e in ended])
    return len(ended)


async def start(app: FastAPI) -> None:
    settings: Settings = app.state.settings

    async def loop() -> None:
        while True:
            await asyncio.sleep(settings.ended_account_interval_s)
            try:
                while True:
                    async with app.state.pool.acquire() as conn, conn.transaction():
                        if await ask_erasure(conn) < BATCH:
                            break
            except Exception:
                log.exception("asking the erasure of ended accounts failed; trying again")

    app.state.ended_accounts = asyncio.create_task(loop(), name="ended-accounts")


async def stop(app: FastAPI) -> None:
    task = getattr(app.state, "ended_accounts", None)
    if task is not None:
        await cancel_and_wait(task, "ended-accounts")


