"""Retention's background work: stores that have not answered an erasure job are asked again
within seconds, with a growing pause; jobs whose stores missed their deadline become stuck;
retention sweeps start on their schedule; ended contracts are carried out (O18); the replay
log forgets encrypted ids older than every backup."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import partial

import asyncpg
from fastapi import FastAPI

from privacy_kit.worker import cancel_and_wait
from retention.erasure import service
from retention.erasure.tenancy import subject_tenant
from retention.replay import service as replay
from retention.settings import Settings
from retention.sweep import service as retention_sweeps
from retention.termination import exports
from retention.termination import service as termination

log = logging.getLogger(__name__)


def _every(app: FastAPI, interval_s: float, name: str,
           work: Callable[[asyncpg.Connection], Awaitable[object]]) -> asyncio.Task[None]:
    async def loop() -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                async with app.state.pool.acquire() as conn, conn.transaction():
                    await work(conn)
            except Exception:
                log.exception("%s failed; trying again next round", name)

    return asyncio.create_task(loop(), name=name)


async def start(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    deadline = timedelta(seconds=settings.erasure_deadline_s)

    async def overdue(conn: asyncpg.Connection) -> None:
        count = await service.reemit_overdue(
            conn=conn, deadline=deadline, source=settings.service_name,
            first_after=timedelta(seconds=settings.erasure_reemit_after_s),
            longest_pause=timedelta(seconds=settings.erasure_reemit_max_pause_s))
        if count:
            log.warning("asked the missing stores of %d erasure jobs again", count)
        # O17: held jobs whose hold went (or whose tenant can now be found out) start.
        started = await service.resume_held(conn=conn, deadline=deadline,
                                            source=settings.service_name,
                                            tenant_of=partial(subject_tenant, settings))
        if started:
            log.info("started %d erasure jobs that a legal hold kept waiting", len(started))

    async def retention_sweep(conn: asyncpg.Connection) -> None:
        sweep_id = await retention_sweeps.start_scheduled(conn=conn, source=settings.service_name)
        if sweep_id is None:
            log.warning("the previous retention sweep is still counting; this round is skipped")

    async def terminations(conn: asyncpg.Connection) -> None:
        """Contracts whose end has come stop the tenant growing; past the grace period the
        tenant is erased (unless held); expired exports are deleted."""
        await termination.make_effective(conn=conn, source=settings.service_name)
        await termination.start_erasures(conn=conn, secret=settings.certificate_secret,
                                         deadline=deadline, source=settings.service_name,
                                         expected_stores=settings.expected_stores)
        await termination.finish(conn=conn)
        await exports.expire(
            conn=conn, gather_timeout=timedelta(seconds=settings.tenant_export_timeout_s))

    async def replay_window(conn: asyncpg.Connection) -> None:
        """Once an erasure is older than every backup, its encrypted subject id goes."""
        await replay.forget_sealed_ids(conn=conn,
                                       window=timedelta(days=settings.replay_window_days))

    app.state.background = [
        _every(app, settings.overdue_sweep_interval_s, "overdue-sweep", overdue),
        _every(app, settings.termination_sweep_interval_s, "termination-sweep", terminations),
        _every(app, 3600, "replay-window", replay_window),
    ]
    if settings.retention_sweep_interval_s > 0:
        app.state.background.append(_every(app, settings.retention_sweep_interval_s,
                                           "retention-sweep", retention_sweep))


async def stop(app: FastAPI) -> None:
    for task in getattr(app.state, "background", []):
        await cancel_and_wait(task, task.get_name())
