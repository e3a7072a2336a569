"""Retention: rules, legal holds, erasure jobs and their certificates, the processing register."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
from fastapi import FastAPI

from privacy_kit.app import create_app as create_service
from retention import handlers, sweeps
from retention.erasure.views import router as erasure_router
from retention.legal_hold.views import router as legal_hold_router
from retention.provider import RetentionProvider
from retention.register.internal import router as internal_register_router
from retention.register.views import router as register_router
from retention.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


async def health(conn: asyncpg.Connection) -> dict[str, Any]:
    stores = await conn.fetch("SELECT store FROM store_inventory ORDER BY store")
    pending = await conn.fetchval("SELECT count(*) FROM erasure_job WHERE status = 'pending'")
    overdue = await conn.fetchval(
        "SELECT count(*) FROM erasure_job WHERE status = 'pending' AND overdue"
    )
    return {"stores_known": [r["store"] for r in stores], "erasure_jobs_pending": pending,
            "erasure_jobs_overdue": overdue}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = create_service(
        settings,
        title="Privacy Suite: retention",
        description="Erasure jobs, legal holds and the record of processing activities.",
        routers=[erasure_router, legal_hold_router, register_router, internal_register_router],
        provider=RetentionProvider(),
        subscriptions=handlers.subscriptions(settings),
        migrations=MIGRATIONS,
        health=health,
        on_start=[sweeps.start],
        on_stop=[sweeps.stop],
    )
    return app
