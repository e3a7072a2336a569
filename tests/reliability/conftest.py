"""The five services in this process, each on its own fresh database, without Kafka: enough to
probe every route's input handling and OpenAPI document quickly."""

from __future__ import annotations

import contextlib
import importlib
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from fastapi import FastAPI

from devstack.infra import drop_database
from devstack.stack import PACKAGES, STORES
from devstack.testing import Suite, app_client


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def services(postgres_admin_dsn: str,
                   kafka_bootstrap: str) -> AsyncIterator[dict[str, tuple[FastAPI, httpx.AsyncClient]]]:
    suite = Suite(postgres_admin_dsn, kafka_bootstrap, f"t{uuid.uuid4().hex[:8]}.")
    running: dict[str, tuple[FastAPI, httpx.AsyncClient]] = {}
    try:
        async with contextlib.AsyncExitStack() as stack:
            for name in STORES:
                package = PACKAGES[name]
                settings_class = importlib.import_module(f"{package}.settings").Settings
                dsn = await suite.new_database(package)
                settings = settings_class(**{**suite.env(dsn, name), "kafka_enabled": False})
                app = importlib.import_module(f"{package}.main").create_app(settings)
                client = await stack.enter_async_context(app_client(app))
                running[name] = (app, client)
            await _hand_inventories_to_retention(running)
            yield running
    finally:
        for database in suite._databases:
            await drop_database(suite.admin_dsn, database)


async def _hand_inventories_to_retention(running: dict[str, tuple[FastAPI, httpx.AsyncClient]]) -> None:
    """Without Kafka, the inventory events wait in each outbox: give them to retention's own
    handler, as its consumer would, so erasure jobs know every store."""
    from privacy_kit.events import Envelope, Topic
    from retention import handlers as retention_handlers

    retention = running["retention"][0]
    handlers = {s.topic: s.handlers for s in retention_handlers.subscriptions(retention.state.settings)}
    on_inventory = next(iter(handlers[Topic.INVENTORY].values()))
    for app, _ in running.values():
        async with app.state.pool.acquire() as conn:
            rows = await conn.fetch("SELECT envelope::text AS e FROM outbox WHERE topic = $1",
                                    Topic.INVENTORY)
        async with retention.state.pool.acquire() as conn, conn.transaction():
            for row in rows:
                await on_inventory(conn, Envelope.model_validate_json(row["e"]))
