"""A real training-records (uvicorn on a free 127.0.0.1 port) and one breach app shared by the
tests here: the breach app asks training-records over real HTTP which tenant each affected
subject belongs to. The breach app's clock is settable (`stack.clock.now = ...`) and its
background sweep is off: tests run the sweep with an exact `now` instead of sleeping."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest_asyncio
import uvicorn
from fastapi import FastAPI

from breach.main import create_app as create_breach
from breach.notices.service import SweepResult
from breach.settings import Settings as BreachSettings
from breach.sweeps import sweep_once
from devstack.infra import drop_database, free_port
from devstack.testing import Suite, app_client, auth, read_events
from privacy_kit.events import Envelope
from training_records.main import create_app as create_training_records
from training_records.settings import Settings as TrainingRecordsSettings

DPO = auth("dpo")


class SettableClock:
    """The breach app's clock: the wall clock unless a test sets `now`."""

    def __init__(self) -> None:
        self.now: datetime | None = None

    def __call__(self) -> datetime:
        return self.now or datetime.now(UTC)


@dataclass
class BreachStack:
    suite: Suite
    app: FastAPI
    client: httpx.AsyncClient
    records: httpx.AsyncClient
    clock: SettableClock
    dpo = DPO

    async def tenant(self, name: str = "Opleidingen B.V.") -> str:
        r = await self.records.post("/v1/tenants", headers=auth("operator"), json={"name": name})
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    async def participant(self, tenant: str, email: str | None = None) -> str:
        r = await self.records.post(
            f"/v1/tenants/{tenant}/participants", headers=auth("beheerder", tenant=tenant),
            json={"name": "Sanne de Vries", "email": email or f"{uuid.uuid4().hex[:8]}@example.org",
                  "birth_date": "1990-05-01"})
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def beheerder(self, tenant: str) -> dict[str, str]:
        return auth("beheerder", tenant=tenant, sub=str(uuid.uuid4()))

    async def register(self, **fields: Any) -> dict[str, Any]:
        body = {"title": "Export sent to the wrong client",
                "description": "A results export reached another organisation.",
                "discovered_at": "2026-03-28T09:30:00+01:00", **fields}
        r = await self.client.post("/v1/breaches", headers=DPO, json=body)
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def sweep(self, now: datetime) -> SweepResult:
        return await sweep_once(self.app, now)

    async def events(self, event_type: str, *, expect: int = 1, breach_id: str | None = None,
                     timeout: float = 15.0) -> list[Envelope]:
        return await read_events(
            self.suite.kafka_bootstrap, self.suite.topic("privacy.breach"), expect=expect,
            timeout=timeout,
            match=lambda e: e.type == event_type
            and (breach_id is None or e.data.get("breach_id") == breach_id))

    async def fetchval(self, sql: str, *args: Any) -> Any:
        async with self.app.state.pool.acquire() as conn:
            return await conn.fetchval(sql, *args)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def stack(postgres_admin_dsn: str, kafka_bootstrap: str) -> AsyncIterator[BreachStack]:
    suite = Suite(postgres_admin_dsn, kafka_bootstrap, f"t{uuid.uuid4().hex[:8]}.")
    records_settings = TrainingRecordsSettings(**{
        **suite.env(await suite.new_database("training_records"), "training-records"),
        "kafka_enabled": False})
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_training_records(records_settings),
                                           host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.02)
    clock = SettableClock()
    breach_settings = BreachSettings(**{
        **suite.env(await suite.new_database("breach"), "breach"),
        "training_records_url": f"http://127.0.0.1:{port}", "deadline_sweep_interval_s": 0,
        "dpo_name": "Functionaris Gegevensbescherming", "dpo_email": "fg@example.org",
        "dpo_phone": "+31 20 123 4567", "organisation_coc_number": "12345678",
        "organisation_address": "Keizersgracht 1, Amsterdam"})
    try:
        async with (
            app_client(app := create_breach(breach_settings, clock=clock)) as client,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as records,
        ):
            yield BreachStack(suite, app, client, records, clock)
    finally:
        server.should_exit = True
        await serving
        for name in suite._databases:
            await drop_database(suite.admin_dsn, name)


@pytest_asyncio.fixture(loop_scope="session")
async def bs(stack: BreachStack) -> AsyncIterator[BreachStack]:
    """The shared stack with the wall clock back after each test."""
    yield stack
    stack.clock.now = None
