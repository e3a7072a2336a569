"""The breach service's background work: the deadline sweep and pending tenant lookups.

`sweep_deadlines` announces each notice due within the warning window and each overdue one
exactly once (`breach.notice_due_soon`, `breach.notice_overdue`): the UPDATE that marks a row
as announced is the claim, so two replicas never announce the same notice twice. `now` is an
argument, so tests check the exact minutes without sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
from fastapi import FastAPI

from breach import timeline
from breach.clock import Clock, minutes_between, utcnow
from breach.lookup import DirectoryUnavailable, SubjectDirectory
from breach.register import service as register
from breach.settings import Settings
from breach.timeline import Actor
from privacy_kit.outbox import emit
from privacy_kit.protocol import BreachNoticeDueSoon, BreachNoticeOverdue

log = logging.getLogger(__name__)


@dataclass
class SweepResult:
    due_soon: int = 0
    overdue: int = 0
    resolved: int = 0


async def sweep_deadlines(*, conn: asyncpg.Connection, now: datetime, settings: Settings) -> SweepResult:
    """Announce, once each, the notices that became overdue or due soon. In the caller's transaction."""
    window = timedelta(hours=settings.due_soon_hours)
    result = SweepResult()
    actor = Actor(settings.service_name, ["service"])
    overdue = await conn.fetch(
        """UPDATE breach_tenant_notification SET overdue_emitted_at = $1
           WHERE notified_at IS NULL AND overdue_emitted_at IS NULL AND due_at < $1
           RETURNING id, breach_id, tenant_id, due_at""", now)
    due_soon = await conn.fetch(
        """UPDATE breach_tenant_notification SET due_soon_emitted_at = $1
           WHERE notified_at IS NULL AND due_soon_emitted_at IS NULL AND overdue_emitted_at IS NULL
             AND due_at >= $1 AND due_at - $2::interval <= $1
           RETURNING id, breach_id, tenant_id, due_at""", now, window)
    authority_overdue = await conn.fetch(
        """UPDATE breach SET authority_overdue_emitted_at = $1
           WHERE authority_required AND authority_reported_at IS NULL
             AND authority_overdue_emitted_at IS NULL AND authority_due_at < $1
           RETURNING id AS breach_id, authority_due_at AS due_at""", now)
    authority_due_soon = await conn.fetch(
        """UPDATE breach SET authority_due_soon_emitted_at = $1
           WHERE authority_required AND authority_reported_at IS NULL
             AND authority_due_soon_emitted_at IS NULL AND authority_overdue_emitted_at IS NULL
             AND authority_due_at >= $1 AND authority_due_at - $2::interval <= $1
           RETURNING id AS breach_id, authority_due_at AS due_at""", now, window)
    for kind, rows in (("tenant", overdue), ("authority", authority_overdue)):
        for row in rows:
            notice_id = row["id"] if kind == "tenant" else None
            tenant = row["tenant_id"] if kind == "tenant" else None
            await emit(conn, BreachNoticeOverdue(
                breach_id=row["breach_id"], notice=kind, notice_id=notice_id, due_at=row["due_at"],
                minutes_overdue=minutes_between(row["due_at"], now)),
                source=settings.service_name, tenant_id=tenant, key=str(row["breach_id"]))
            await timeline.append(conn, breach_id=row["breach_id"], kind="notice_overdue",
                                  actor=actor, at=now, data={
                                      "notice": kind, "notice_id": notice_id, "tenant_id": tenant,
                                      "due_at": row["due_at"].isoformat()})
            result.overdue += 1
    for kind, rows in (("tenant", due_soon), ("authority", authority_due_soon)):
        for row in rows:
            notice_id = row["id"] if kind == "tenant" else None
            tenant = row["tenant_id"] if kind == "tenant" else None
            await emit(conn, BreachNoticeDueSoon(
                breach_id=row["breach_id"], notice=kind, notice_id=notice_id, due_at=row["due_at"],
                minutes_left=minutes_between(now, row["due_at"])),
                source=settings.service_name, tenant_id=tenant, key=str(row["breach_id"]))
            await timeline.append(conn, breach_id=row["breach_id"], kind="notice_due_soon",
                                  actor=actor, at=now, data={
                                      "notice": kind, "notice_id": notice_id, "tenant_id": tenant,
                                      "due_at": row["due_at"].isoformat()})
            result.due_soon += 1
    return result


async def resolve_pending(
    *, pool: asyncpg.Pool, directory: SubjectDirectory, now: datetime, settings: Settings,
    limit: int = 10_000,
) -> int:
    """Ask training-records again for subjects it could not be asked about at registration."""
    async with pool.acquire() as conn:
        pending = await register.pending_subjects(conn, limit)
    resolved = 0
    for breach_id, subject_ids in pending.items():
        try:
            located = await directory.locate(subject_ids)
        except DirectoryUnavailable as exc:
            log.info("pending subjects stay pending: %s", exc)
            return resolved
        async with pool.acquire() as conn, conn.transaction():
            result = await register.resolve_pending(conn=conn, breach_id=breach_id,
                                                    located=located, now=now, settings=settings)
        resolved += result.added
    return resolved


async def sweep_once(app: FastAPI, now: datetime | None = None) -> SweepResult:
    settings: Settings = app.state.settings
    clock: Clock = getattr(app.state, "clock", None) or utcnow
    now = now or clock()
    resolved = await resolve_pending(pool=app.state.pool, directory=app.state.directory, now=now,
                                     settings=settings)
    async with app.state.pool.acquire() as conn, conn.transaction():
        result = await sweep_deadlines(conn=conn, now=now, settings=settings)
    result.resolved = resolved
    return result


async def start(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    app.state.directory = SubjectDirectory(settings, getattr(app.state, "directory_transport", None))
    app.state.background = []
    if settings.deadline_sweep_interval_s <= 0:
        return

    async def loop() -> None:
        while True:
            try:
                result = await sweep_once(app)
                if result.overdue or result.due_soon:
                    log.warning("breach notices: %d overdue, %d due soon", result.overdue,
                                result.due_soon)
            except Exception:
                log.exception("deadline sweep failed; trying again next round")
            await asyncio.sleep(settings.deadline_sweep_interval_s)

    app.state.background = [asyncio.create_task(loop(), name="breach-deadline-sweep")]


async def stop(app: FastAPI) -> None:
    for task in getattr(app.state, "background", []):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    directory = getattr(app.state, "directory", None)
    if directory is not None:
        await directory.close()
