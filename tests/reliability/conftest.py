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
            yield running
    finally:
        for database in suite._databases:
            await drop_database(suite.admin_dsn, database)
