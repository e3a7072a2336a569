"""The breach service's background work: the deadline sweep and pending tenant lookups.

Each round announces, once each, the notices due within the warning window and the overdue
ones (`breach.notices.service.announce_deadlines`), and asks training-records again about
subjects it could not be asked about at registration. `sweep_once(app, now)` is one round with
an exact `now`, so tests check the minutes without sleeping.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

import asyncpg
from fastapi import FastAPI

from breach.clock import Clock, utcnow
from breach.lookup import DirectoryUnavailable, SubjectDirectory
from breach.notices import service as notices
from breach.register import service as register
from breach.settings import Settings
from privacy_kit.worker import cancel_and_wait

log = logging.getLogger(__name__)


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


async def sweep_once(app: FastAPI, now: datetime | None = None) -> notices.SweepResult:
    settings: Settings = app.state.settings
    clock: Clock = getattr(app.state, "clock", None) or utcnow
    now = now or clock()
    resolved = await resolve_pending(pool=app.state.pool, directory=app.state.directory, now=now,
                                     settings=settings)
    async with app.state.pool.acquire() as conn, conn.transaction():
        result = await notices.announce_deadlines(conn=conn, now=now, settings=settings)
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
        await cancel_and_wait(task, task.get_name())
    directory = getattr(app.state, "directory", None)
    if directory is not None:
        await directory.close()
