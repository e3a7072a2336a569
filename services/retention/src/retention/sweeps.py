"""Retention's background work: jobs whose stores missed their deadline are asked again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from fastapi import FastAPI

from retention.erasure import service
from retention.replay import service as replay
from retention.settings import Settings
from retention.termination import exports
from retention.termination import service as termination

log = logging.getLogger(__name__)


async def start(app: FastAPI) -> None:
    settings: Settings = app.state.settings

    async def sweep() -> None:
        while True:
            await asyncio.sleep(settings.overdue_sweep_interval_s)
            try:
                async with app.state.pool.acquire() as conn, conn.transaction():
                    count = await service.reemit_overdue(
                        conn=conn, deadline=timedelta(seconds=settings.erasure_deadline_s),
                        source=settings.service_name,
                    )
                if count:
                    log.warning("re-requested %d overdue erasure jobs", count)
            except Exception:
                log.exception("overdue sweep failed; trying again next round")

    app.state.background = [asyncio.create_task(sweep(), name="overdue-sweep"),
                            asyncio.create_task(replay_window(app), name="replay-window"),
                            asyncio.create_task(terminations(app), name="termination-sweep")]


async def terminations(app: FastAPI) -> None:
    """O18: contracts whose end has come stop the tenant growing; past the grace period the
    tenant is erased (unless held); expired exports are deleted."""
    settings: Settings = app.state.settings
    while True:
        try:
            async with app.state.pool.acquire() as conn, conn.transaction():
                await termination.make_effective(conn=conn, source=settings.service_name)
                await termination.start_erasures(
                    conn=conn, secret=settings.certificate_secret,
                    deadline=timedelta(seconds=settings.erasure_deadline_s),
                    source=settings.service_name)
                await termination.finish(conn=conn)
                await exports.expire(
                    conn=conn, gather_timeout=timedelta(seconds=settings.tenant_export_timeout_s))
        except Exception:
            log.exception("termination sweep failed; trying again next round")
        await asyncio.sleep(settings.termination_sweep_interval_s)


async def replay_window(app: FastAPI) -> None:
    """Once an erasure is older than every backup, its encrypted subject id goes (hash stays)."""
    settings: Settings = app.state.settings
    while True:
        try:
            async with app.state.pool.acquire() as conn, conn.transaction():
                await replay.forget_sealed_ids(
                    conn=conn, window=timedelta(days=settings.replay_window_days))
        except Exception:
            log.exception("replay window sweep failed; trying again next round")
        await asyncio.sleep(3600)


async def stop(app: FastAPI) -> None:
    for task in getattr(app.state, "background", []):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
