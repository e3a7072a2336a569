"""The background loop that tells pending people of announced policy versions (O14)."""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI

from consent.announcements.service import announce_pending
from consent.settings import Settings
from privacy_kit.worker import cancel_and_wait

log = logging.getLogger(__name__)


async def start(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    if settings.announcement_interval_s <= 0:
        app.state.announcer = None
        return

    async def sweep() -> None:
        while True:
            try:
                while await announce_pending(app.state.pool, settings):
                    pass
            except Exception:
                log.exception("announcing policy versions failed; trying again next round")
            await asyncio.sleep(settings.announcement_interval_s)

    app.state.announcer = asyncio.create_task(sweep(), name="policy-announcer")


async def stop(app: FastAPI) -> None:
    task = getattr(app.state, "announcer", None)
    if task is not None:
        await cancel_and_wait(task, "policy-announcer")
