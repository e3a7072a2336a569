"""One running consent app (and one listening service) shared by the tests of a module:
consumer group joins on Tansu take seconds, so they happen once."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from consent.main import create_app
from consent.settings import Settings
from devstack.infra import drop_database
from devstack.testing import Suite, app_client
from privacy_kit.app import create_app as create_service
from privacy_kit.consumer import Subscription
from privacy_kit.events import Envelope, Topic
from privacy_kit.settings import ServiceSettings

LISTENER_SQL = """
CREATE TABLE seen_consent (
    event_id uuid PRIMARY KEY, type text NOT NULL, subject_id text, data jsonb NOT NULL
);
"""


async def _remember(conn: asyncpg.Connection, event: Envelope) -> None:
    await conn.execute(
        "INSERT INTO seen_consent (event_id, type, subject_id, data) VALUES ($1, $2, $3, $4::jsonb)",
        event.id, event.type, event.subject_id, event.model_dump_json(include={"data"}),
    )


@dataclass
class Consent:
    suite: Suite
    app: FastAPI
    client: httpx.AsyncClient
    listener: FastAPI

    async def fetch(self, sql: str, *args: object) -> list[asyncpg.Record]:
        async with self.app.state.pool.acquire() as conn:
            return list(await conn.fetch(sql, *args))

    async def seen(self, subject_id: str) -> list[asyncpg.Record]:
        async with self.listener.state.pool.acquire() as conn:
            return list(await conn.fetch(
                "SELECT type, data FROM seen_consent WHERE subject_id = $1", subject_id))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def consent(
    postgres_admin_dsn: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Consent]:
    suite = Suite(postgres_admin_dsn, kafka_bootstrap, f"t{uuid.uuid4().hex[:8]}.")
    app = create_app(Settings(**suite.env(await suite.new_database("consent"), "consent")))
    # Another service that consumes consent.changed into its own database.
    migrations = tmp_path_factory.mktemp("listener")
    (migrations / "0001_seen.sql").write_text(LISTENER_SQL)
    listener = create_service(
        ServiceSettings(**suite.env(await suite.new_database("listener"), "listener")),
        title="listener", migrations=migrations,
        subscriptions=[Subscription(Topic.CONSENT, {
            "consent.changed": _remember, "anonymisation.opted_out": _remember})],
    )
    try:
        async with app_client(app) as client, app_client(listener):
            yield Consent(suite, app, client, listener)
    finally:
        for name in suite._databases:
            await drop_database(suite.admin_dsn, name)


