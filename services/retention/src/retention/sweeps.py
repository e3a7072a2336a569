"""Retention's background work: stores that have not answered an erasure job are asked again
within seconds, with a growing pause; jobs whose stores missed their deadline become stuck;
retention sweeps start on their schedule."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

import asyncpg
from fastapi import FastAPI

from retention.erasure import service
from retention.settings import Settings
from retention.sweep import service as retention_sweeps

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

    async def retention_sweep(conn: asyncpg.Connection) -> None:
        sweep_id = await retention_sweeps.start_scheduled(conn=conn, source=settings.service_name)
        if sweep_id is None:
            log.warning("the previous retention sweep is still counting; this round is skipped")

    app.state.background = [_every(app, settings.overdue_sweep_interval_s, "overdue-sweep",
                                   overdue)]
    if settings.retention_sweep_interval_s > 0:
        app.state.background.append(_every(app, settings.retention_sweep_interval_s,
                                           "retention-sweep", retention_sweep))


async def stop(app: FastAPI) -> None:
    for task in getattr(app.state, "background", []):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
