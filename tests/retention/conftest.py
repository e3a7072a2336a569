"""The whole suite's five stores in-process on one broker, shared by the retention tests:
consumer-group joins on Tansu take seconds, so the apps start once per session. Tests keep
apart by using tenants, subjects and categories of their own."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI

from breach.main import create_app as create_breach
from breach.settings import Settings as BreachSettings
from consent.main import create_app as create_consent
from consent.settings import Settings as ConsentSettings
from devstack.infra import drop_database
from devstack.testing import Suite, app_client, auth, served, wait_for
from privacy_kit.events import Envelope
from retention.main import create_app as create_retention
from retention.settings import Settings as RetentionSettings
from subject_rights.main import create_app as create_subject_rights
from subject_rights.settings import Settings as SubjectRightsSettings
from training_records.main import create_app as create_training_records
from training_records.settings import Settings as TrainingRecordsSettings

# Consent first: training-records asks it over HTTP who opted out of anonymised data (O13);
# then training-records: the others ask it for a tenant's O5 agreement, and retention whose
# participant a subject is (O17).
FACTORIES: dict[str, tuple[Callable[[Any], FastAPI], type]] = {
    "consent": (create_consent, ConsentSettings),
    "training-records": (create_training_records, TrainingRecordsSettings),
    "retention": (create_retention, RetentionSettings),
    "breach": (create_breach, BreachSettings),
    "subject-rights": (create_subject_rights, SubjectRightsSettings),
}
# Served over real HTTP, for the stores that call them.
SERVED = ("consent", "training-records")
RETENTION_TEST_SETTINGS = {"retention_sweep_interval_s": 0, "overdue_sweep_interval_s": 0.5}


@dataclass
class Platform:
    """Running stores on one suite, their clients and databases, and a few helpers."""

    suite: Suite
    apps: dict[str, FastAPI] = field(default_factory=dict)
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)
    dsns: dict[str, str] = field(default_factory=dict)
    # Stores served over real HTTP (SERVED), for the stores that call them.
    urls: dict[str, str] = field(default_factory=dict)
    stack: contextlib.AsyncExitStack | None = None

    @property
    def retention(self) -> httpx.AsyncClient:
        return self.clients["retention"]

    async def start(self, store: str, **settings: Any) -> None:
        assert self.stack is not None
        factory, settings_cls = FACTORIES[store]
        if store not in self.dsns:
            self.dsns[store] = await self.suite.new_database(store)
        extra = {**(RETENTION_TEST_SETTINGS if store == "retention" else {}),
                 **{f"{name.replace('-', '_')}_url": url for name, url in self.urls.items()},
                 **settings}
        app = factory(settings_cls(**{**self.suite.env(self.dsns[store], store), **extra}))
        self.apps[store] = app
        if store in SERVED:
            self.urls[store] = await self.stack.enter_async_context(served(app))
            self.clients[store] = await self.stack.enter_async_context(
                httpx.AsyncClient(base_url=self.urls[store]))
        else:
            self.clients[store] = await self.stack.enter_async_context(app_client(app))

    async def fetch(self, store: str, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with self.apps[store].state.pool.acquire() as conn:
            return list(await conn.fetch(sql, *args))

    async def fetchval(self, store: str, sql: str, *args: Any) -> Any:
        async with self.apps[store].state.pool.acquire() as conn:
            return await conn.fetchval(sql, *args)

    async def publish(self, family: str, event: Envelope) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.suite.kafka_bootstrap, acks="all")
        await producer.start()
        try:
            key = (event.subject_id or event.tenant_id or "k").encode()
            await producer.send_and_wait(self.suite.topic(family),
                                         event.model_dump_json().encode(), key=key)
        finally:
            await producer.stop()

    async def stores_known(self) -> set[str]:
        return set((await self.retention.get("/healthz")).json().get("stores_known", []))

    async def consumers_assigned(self) -> bool:
        return all(app.state.consumer is not None and app.state.consumer.assigned.is_set()
                   for app in self.apps.values())

    async def ready(self, stores: set[str]) -> None:
        async def known() -> bool:
            return stores <= await self.stores_known() and await self.consumers_assigned()

        await wait_for(known, timeout=60, what=f"inventories of {sorted(stores)} at retention")

    async def job(self, job_id: str) -> dict[str, Any]:
        r = await self.retention.get(f"/v1/erasure-jobs/{job_id}", headers=DPO)
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def finished_job(self, job_id: str, timeout: float = 30) -> dict[str, Any]:
        async def done() -> dict[str, Any] | None:
            job = await self.job(job_id)
            return job if job["status"].startswith("completed") else None

        return await wait_for(done, timeout=timeout, what=f"erasure job {job_id} to finish")


DPO = auth("dpo")
OPERATOR = auth("operator")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def platform(postgres_admin_dsn: str, kafka_bootstrap: str) -> AsyncIterator[Platform]:
    suite = Suite(postgres_admin_dsn, kafka_bootstrap, f"t{uuid.uuid4().hex[:8]}.")
    p = Platform(suite)
    async with contextlib.AsyncExitStack() as stack:
        p.stack = stack
        for store in FACTORIES:
            await p.start(store, **({"benchmark_min_participants": 1}
                                    if store == "training-records" else {}))
        await p.ready(set(FACTORIES))
        yield p
    for name in suite._databases:
        await drop_database(suite.admin_dsn, name)


@pytest_asyncio.fixture(loop_scope="session")
async def own_platform(postgres_admin_dsn: str, kafka_bootstrap: str) -> AsyncIterator[Platform]:
    """A platform of one test, on topics and databases of its own; the test starts the stores
    it needs with `await own_platform.start(stack_of(own_platform), store, **settings)`."""
    suite = Suite(postgres_admin_dsn, kafka_bootstrap, f"t{uuid.uuid4().hex[:8]}.")
    p = Platform(suite)
    async with contextlib.AsyncExitStack() as stack:
        p.stack = stack
        yield p
    for name in suite._databases:
        await drop_database(suite.admin_dsn, name)
