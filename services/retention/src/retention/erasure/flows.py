"""Retention's event handlers: inventories in, acknowledgements in, triggers in."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import timedelta

import asyncpg
from fastapi import FastAPI

from privacy_kit.consumer import Subscription
from privacy_kit.events import Envelope, Topic
from privacy_kit.provider import ERASURE_COMPLETED, INVENTORY_PUBLISHED
from retention.erasure import service
from retention.erasure.models import ErasureJobCreate
from retention.settings import Settings

log = logging.getLogger(__name__)

# Other services ask for an erasure through this event (e.g. an under-16 found without consent).
SUBJECT_ERASURE_REQUESTED = "subject.erasure_requested"


def subscriptions(settings: Settings) -> list[Subscription]:
    async def on_inventory(conn: asyncpg.Connection, event: Envelope) -> None:
        categories = event.data.get("categories", [])
        personal = any(c.get("personal", True) for c in categories)
        await conn.execute(
            """INSERT INTO store_inventory (store, categories, personal, published_at)
               VALUES ($1, $2::jsonb, $3, $4)
               ON CONFLICT (store) DO UPDATE SET categories = EXCLUDED.categories,
                   personal = EXCLUDED.personal, published_at = EXCLUDED.published_at
               WHERE store_inventory.published_at <= EXCLUDED.published_at""",
            event.data["store"], json.dumps(categories), personal, event.occurred_at,
        )

    async def on_completed(conn: asyncpg.Connection, event: Envelope) -> None:
        await service.acknowledge(
            conn=conn,
            job_id=event.data["job_id"],
            store=event.data["store"],
            counts={k: int(v) for k, v in event.data.get("counts", {}).items()},
            erased=int(event.data.get("erased", 0)),
            secret=settings.certificate_secret,
            source=settings.service_name,
        )

    async def on_subject_erasure_requested(conn: asyncpg.Connection, event: Envelope) -> None:
        if not event.subject_id:
            return
        request = ErasureJobCreate(
            scope="subject", subject_id=event.subject_id,
            reason=str(event.data.get("reason", "requested by " + event.source)),
        )
        try:
            await service.create_job(
                conn=conn, request=request, requested_by=event.source,
                trigger=str(event.data.get("trigger", event.source)),
                secret=settings.certificate_secret,
                deadline=timedelta(seconds=settings.erasure_deadline_s),
                source=settings.service_name,
            )
        except service.UnderLegalHold:
            log.warning("erasure of a subject under legal hold was asked by %s; kept", event.source)

    return [
        Subscription(Topic.INVENTORY, {INVENTORY_PUBLISHED: on_inventory}),
        Subscription(Topic.ERASURE, {ERASURE_COMPLETED: on_completed}),
        Subscription(Topic.SUBJECT, {SUBJECT_ERASURE_REQUESTED: on_subject_erasure_requested}),
    ]


async def start_overdue_sweep(app: FastAPI) -> None:
    settings: Settings = app.state.settings

    async def sweep() -> None:
        while True:
            await asyncio.sleep(settings.overdue_sweep_interval_s)
            try:
                async with app.state.pool.acquire() as conn, conn.transaction():
                    count = await service.reemit_overdue(
                        conn=conn, deadline=timedelta(seconds=settings.erasure_deadline_s),
                        source=settings.service_name,
                        first_after=timedelta(seconds=settings.erasure_reemit_after_s),
                        longest_pause=timedelta(seconds=settings.erasure_reemit_max_pause_s),
                    )
                if count:
                    log.warning("asked the stores of %d unanswered erasure jobs again", count)
            except Exception:
                log.exception("overdue sweep failed; trying again next round")

    task = asyncio.create_task(sweep(), name="overdue-sweep")
    app.state.background.append(task)


async def stop_background(app: FastAPI) -> None:
    for task in getattr(app.state, "background", []):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
