"""Breach: the register (O26), per-tenant 24 h notices (O27), the authority's 72 h and people
notices (O28), and disclosures to authorities (O30)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
import httpx
from fastapi import FastAPI

from breach import sweeps
from breach.authority.views import router as authority_router
from breach.clock import Clock
from breach.disclosures.views import router as disclosures_router
from breach.notices.views import people_router
from breach.notices.views import router as notices_router
from breach.provider import BreachProvider
from breach.register.views import router as register_router
from breach.settings import Settings
from privacy_kit.app import create_app as create_service

MIGRATIONS = Path(__file__).parent / "migrations"

DESCRIPTION = """\
The breach register (O26): every fact of a breach, its risk assessment, an append-only
timeline and its state. Each affected client organisation gets a notice due 24 hours after
discovery (O27), visible to its Beheerders at `GET /v1/breach-notices`; the report to the
Autoriteit Persoonsgegevens is due 72 hours after awareness unless assessed as no risk, and
people are told of a high risk (O28). Disclosures to authorities are recorded (O30).

Times need an offset (`Z`, `+01:00`); they are answered in UTC with an `_amsterdam` twin.
**Free-text facts and notes must not name or identify people**: they are the controller's
legal record and are kept when a person is erased.
"""


async def _health(conn: asyncpg.Connection) -> dict[str, Any]:
    open_notices = await conn.fetchval(
        "SELECT count(*) FROM breach_tenant_notification WHERE notified_at IS NULL")
    overdue = await conn.fetchval(
        "SELECT count(*) FROM breach_tenant_notification WHERE notified_at IS NULL AND due_at < now()")
    return {"tenant_notices_open": open_notices, "tenant_notices_overdue": overdue}


async def notice_gauges(conn: asyncpg.Connection) -> dict[str, float]:
    """For /metrics: notices still open and past their deadline (O27, O28), read at each scrape
    from the partial index on open tenant notices."""
    row = await conn.fetchrow(
        """SELECT (SELECT count(*) FROM breach_tenant_notification WHERE notified_at IS NULL)
                      AS tenant_open,
                  (SELECT count(*) FROM breach_tenant_notification
                   WHERE notified_at IS NULL AND due_at < now()) AS tenant_overdue,
                  (SELECT count(*) FROM breach WHERE authority_required
                   AND authority_reported_at IS NULL AND authority_due_at < now())
                      AS authority_overdue""")
    return {"privacy_breach_tenant_notices_open": row["tenant_open"],
            "privacy_breach_tenant_notices_overdue": row["tenant_overdue"],
            "privacy_breach_authority_reports_overdue": row["authority_overdue"]}


def create_app(
    settings: Settings | None = None, *, clock: Clock | None = None,
    directory_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """`clock` replaces the wall clock (tests); `directory_transport` the HTTP transport to
    training-records (tests and benchmarks that run it in-process)."""
    settings = settings or Settings()
    app = create_service(
        settings,
        title="Privacy Suite: breach",
        description=DESCRIPTION,
        routers=[register_router, people_router, authority_router, notices_router,
                 disclosures_router],
        provider=BreachProvider(),
        migrations=MIGRATIONS,
        health=_health,
        metrics=[notice_gauges],
        on_start=[sweeps.start],
        on_stop=[sweeps.stop],
    )
    app.state.clock = clock
    app.state.directory_transport = directory_transport
    return app
