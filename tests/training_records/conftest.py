"""One running training-records app shared by every test here: consumer-group joins on Tansu
take seconds, so the app (with its consumers) starts once. Tests keep apart by using tenants of
their own; those that need events wait for `events_ready`."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI

from consent.main import create_app as create_consent
from consent.settings import Settings as ConsentSettings
from devstack.infra import drop_database
from devstack.testing import Suite, app_client, auth, served, wait_for
from privacy_kit.events import Envelope
from training_records.main import create_app
from training_records.settings import Settings

OPERATOR = auth("operator")
DPO = auth("dpo")


def adult(years: int = 30) -> str:
    today = date.today()
    return today.replace(year=today.year - years, day=min(today.day, 28)).isoformat()


def years_ago(years: int, days: int = 0) -> str:
    today = date.today()
    return date.fromordinal(
        today.replace(year=today.year - years, day=min(today.day, 28)).toordinal() + days
    ).isoformat()


@dataclass
class TrainingRecords:
    """The shared app, its client, and helpers (test modules cannot import conftest)."""

    suite: Suite
    app: FastAPI
    client: httpx.AsyncClient
    # A real consent service this store asks over HTTP (O13); its events stay in its outbox.
    consent: FastAPI
    consent_url: str
    operator = OPERATOR
    dpo = DPO
    adult = staticmethod(adult)
    years_ago = staticmethod(years_ago)

    async def tenant(self, *, special: bool = False, name: str = "Acme B.V.") -> str:
        r = await self.client.post("/v1/tenants", headers=OPERATOR, json={"name": name})
        assert r.status_code == 201, r.text
        tid = str(r.json()["id"])
        if special:
            await self.agreement(tid)
        return tid

    async def agreement(self, tenant: str, action: str = "recorded") -> dict[str, Any]:
        """O5: staff record the tenant's separate written agreement (or its end)."""
        r = await self.client.post(
            f"/v1/tenants/{tenant}/special-category-agreements", headers=DPO,
            json={"action": action, "effective_on": "2026-01-15",
                  "document_reference": "DPA annex B, file 2026-114"})
        assert r.status_code == 201, r.text
        return dict(r.json())

    def beheerder(self, tenant: str, sub: str | None = None) -> dict[str, str]:
        """The tenant's Beheerder who registers and assigns its people in these tests (so sees
        them in full, O2); pass `sub` for another Beheerder of the same tenant."""
        return auth("beheerder", tenant=tenant,
                    sub=sub or str(uuid.uuid5(uuid.NAMESPACE_URL, f"beheerder/{tenant}")))

    def participant_auth(self, tenant: str, pid: str) -> dict[str, str]:
        return auth("participant", tenant=tenant, sub=pid)

    async def participant(self, tenant: str, **fields: Any) -> str:
        body = {"name": "Sanne de Vries", "email": f"{uuid.uuid4().hex[:8]}@example.org",
                "birth_date": adult(), **fields}
        r = await self.client.post(f"/v1/tenants/{tenant}/participants",
                                   headers=self.beheerder(tenant), json=body)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    async def training(self, modules: int = 2, title: str = "AVG voor beginners") -> dict[str, Any]:
        r = await self.client.post("/v1/trainings", headers=OPERATOR, json={
            "title": title, "modules": [{"title": f"Module {i}"} for i in range(modules)]})
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def assign(self, tenant: str, pid: str, training_id: str,
                     beheerder: dict[str, str] | None = None) -> dict[str, Any]:
        r = await self.client.post(f"/v1/tenants/{tenant}/assignments",
                                   headers=beheerder or self.beheerder(tenant),
                                   json={"participant_id": pid, "training_id": training_id,
                                         "due_date": "2030-01-01"})
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def result(self, tenant: str, pid: str, training_id: str, score: float,
                     passed: bool) -> dict[str, Any]:
        r = await self.client.post(f"/v1/tenants/{tenant}/participants/{pid}/results",
                                   headers=self.participant_auth(tenant, pid),
                                   json={"training_id": training_id, "score": score,
                                         "passed": passed})
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def publish(self, family: str, event: Envelope) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.suite.kafka_bootstrap, acks="all")
        await producer.start()
        try:
            key = (event.subject_id or event.tenant_id or "k").encode()
            await producer.send_and_wait(self.suite.topic(family),
                                         event.model_dump_json().encode(), key=key)
        finally:
            await producer.stop()

    async def fetchval(self, sql: str, *args: Any) -> Any:
        async with self.app.state.pool.acquire() as conn:
            return await conn.fetchval(sql, *args)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def tr(postgres_admin_dsn: str, kafka_bootstrap: str) -> AsyncIterator[TrainingRecords]:
    suite = Suite(postgres_admin_dsn, kafka_bootstrap, f"t{uuid.uuid4().hex[:8]}.")
    consent = create_consent(ConsentSettings(
        **suite.env(await suite.new_database("consent"), "consent"), kafka_enabled=False))
    dsn = await suite.new_database("training_records")
    async with served(consent) as consent_url:
        settings = Settings(**{**suite.env(dsn, "training-records"),
                               "benchmark_min_participants": 1, "consent_url": consent_url})
        app = create_app(settings)
        async with app_client(app) as client:
            yield TrainingRecords(suite, app, client, consent, consent_url)
    for name in suite._databases:
        await drop_database(suite.admin_dsn, name)


@pytest_asyncio.fixture(loop_scope="session")
async def events_ready(tr: TrainingRecords) -> TrainingRecords:
    """The shared app's consumer has joined its group: published events will be handled."""
    await wait_for(lambda: _assigned(tr.app), timeout=30, what="the consumer to join its group")
    return tr


async def _assigned(app: FastAPI) -> bool:
    consumer = app.state.consumer
    return bool(consumer and consumer.assigned.is_set())
