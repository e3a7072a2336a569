"""Retention: rules, legal holds, erasure jobs and their certificates, the processing register."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
from fastapi import FastAPI

from privacy_kit.app import create_app as create_service
from retention import handlers, sweeps
from retention.audits.views import router as audits_router
from retention.erasure import service as erasure
from retention.erasure.public_key import router as public_key_router
from retention.erasure.views import router as erasure_router
from retention.legal_hold.stopped import router as stopped_erasures_router
from retention.legal_hold.views import router as legal_hold_router
from retention.provider import RetentionProvider
from retention.register.internal import router as internal_register_router
from retention.register.views import router as register_router
from retention.replay.views import router as replay_router
from retention.rules import service as rules
from retention.rules.views import router as rules_router
from retention.settings import Settings
from retention.sub_processor.views import router as sub_processor_router
from retention.sweep.views import router as sweep_router
from retention.termination import exports
from retention.termination.views import router as termination_router

MIGRATIONS = Path(__file__).parent / "migrations"


async def health(conn: asyncpg.Connection) -> dict[str, Any]:
    stores = await conn.fetch("SELECT store FROM store_inventory ORDER BY store")
    jobs = await conn.fetchrow(
        """SELECT count(*) FILTER (WHERE status = 'pending') AS pending,
                  count(*) FILTER (WHERE status = 'stuck') AS stuck,
                  count(*) FILTER (WHERE status IN ('pending', 'stuck') AND overdue) AS overdue
           FROM erasure_job WHERE status IN ('pending', 'stuck')""")
    awaiting = await conn.fetchval(
        "SELECT count(*) FROM retention_sweep WHERE status = 'awaiting_approval'")
    return {"stores_known": [r["store"] for r in stores], "erasure_jobs_pending": jobs["pending"],
            "erasure_jobs_overdue": jobs["overdue"], "erasure_jobs_stuck": jobs["stuck"],
            "stuck_jobs": await erasure.stuck_jobs(conn=conn),
            "sweeps_awaiting_approval": awaiting,
            "categories_needing_a_rule": await rules.needing_a_rule(conn=conn)}


async def erasure_gauges(conn: asyncpg.Connection) -> dict[str, float]:
    """For /metrics: erasure jobs by state (overdue: pending past ERASURE_DEADLINE_S)."""
    row = await conn.fetchrow(
        """SELECT count(*) FILTER (WHERE status = 'pending') AS pending,
                  count(*) FILTER (WHERE status = 'pending' AND overdue) AS overdue,
                  count(*) FILTER (WHERE status = 'completed') AS completed
           FROM erasure_job"""
    )
    return {"privacy_erasure_jobs_pending": row["pending"],
            "privacy_erasure_jobs_overdue": row["overdue"],
            "privacy_erasure_jobs_completed": row["completed"]}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = create_service(
        settings,
        title="Privacy Suite: retention",
        description="Retention rules and sweeps, legal holds, erasure jobs and their signed "
                    "certificates, erasure replays, contract terminations with the tenant's "
                    "export, the record of processing activities and sub-processors, audits "
                    "per client.",
        routers=[erasure_router, public_key_router, replay_router, stopped_erasures_router,
                 legal_hold_router,
                 register_router, rules_router, sweep_router, sub_processor_router,
                 termination_router, audits_router, internal_register_router],
        provider=RetentionProvider(),
        subscriptions=handlers.subscriptions(settings),
        migrations=MIGRATIONS,
        health=health,
        metrics=[erasure_gauges],
        on_start=[sweeps.start],
        on_stop=[exports.stop, sweeps.stop],
    )
    return app
