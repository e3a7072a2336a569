"""All five stores as real HTTP servers in this test process, calling each other over HTTP with
service tokens and over one broker, plus a local SMTP server that receives the identity codes.
They start once for every test here: consumer-group joins on Tansu take seconds. Tests keep
apart by using tenants and people of their own."""

from __future__ import annotations

import contextlib
import email
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest_asyncio
from aiosmtpd.controller import Controller
from fastapi import FastAPI

from breach.main import create_app as create_breach
from breach.settings import Settings as BreachSettings
from consent.main import create_app as create_consent
from consent.settings import Settings as ConsentSettings
from devstack.infra import drop_database, free_port
from devstack.testing import Suite, auth, serve, wait_for
from retention.main import create_app as create_retention
from retention.settings import Settings as RetentionSettings
from subject_rights.main import create_app as create_subject_rights
from subject_rights.settings import Settings as SubjectRightsSettings
from training_records.main import create_app as create_training_records
from training_records.settings import Settings as TrainingRecordsSettings

FACTORIES = {
    "training-records": (create_training_records, TrainingRecordsSettings),
    "consent": (create_consent, ConsentSettings),
    "retention": (create_retention, RetentionSettings),
    "breach": (create_breach, BreachSettings),
    "subject-rights": (create_subject_rights, SubjectRightsSettings),
}
OPERATOR, DPO = auth("operator"), auth("dpo")


class Mailbox:
    """An SMTP server's handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def to(self, address: str) -> list[email.message.Message]:
        return [m for m in self.messages if address in str(m["To"])]


@dataclass
class Person:
    id: str
    email: str
    tenant: str | None
    auth: dict[str, str]


@dataclass
class Rights:
    suite: Suite
    apps: dict[str, FastAPI]
    urls: dict[str, str]
    settings: dict[str, Any]
    mailbox: Mailbox
    http: dict[str, httpx.AsyncClient] = field(default_factory=dict)

    @property
    def sr(self) -> httpx.AsyncClient:
        return self.http["subject-rights"]

    @property
    def tr(self) -> httpx.AsyncClient:
        return self.http["training-records"]

    @property
    def consent(self) -> httpx.AsyncClient:
        return self.http["consent"]

    @property
    def retention(self) -> httpx.AsyncClient:
        return self.http["retention"]

    async def tenant(self) -> str:
        r = await self.tr.post("/v1/tenants", headers=OPERATOR, json={"name": "Opleidingen BV"})
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def beheerder(self, tenant: str) -> dict[str, str]:
        return auth("beheerder", tenant=tenant, sub=f"beheerder-{tenant[:8]}")

    async def participant(self, tenant: str, name: str = "Sanne de Vries") -> Person:
        address = f"{uuid.uuid4().hex[:8]}@example.org"
        r = await self.tr.post(f"/v1/tenants/{tenant}/participants", headers=self.beheerder(tenant),
                               json={"name": name, "email": address, "birth_date": "1990-05-17"})
        assert r.status_code == 201, r.text
        pid = str(r.json()["id"])
        return Person(pid, address, tenant, auth("participant", tenant=tenant, sub=pid))

    def platform_user(self) -> Person:
        """A website visitor or marketing contact: the platform is their controller."""
        sub = str(uuid.uuid4())
        return Person(sub, "", None, auth("participant", sub=sub))

    async def file(self, headers: dict[str, str], **body: Any) -> dict[str, Any]:
        r = await self.sr.post("/v1/subject-requests", headers=headers, json=body)
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def case(self, case_id: str, headers: dict[str, str] = DPO) -> dict[str, Any]:
        r = await self.sr.get(f"/v1/subject-requests/{case_id}", headers=headers)
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def wait_status(self, case_id: str, status: str, headers: dict[str, str] = DPO,
                          timeout: float = 30) -> dict[str, Any]:
        async def reached() -> dict[str, Any] | None:
            case = await self.case(case_id, headers)
            return case if case["status"] == status else None
        return await wait_for(reached, timeout=timeout, what=f"case {case_id} to be {status}")

    async def code_for(self, address: str, nth: int = 1) -> str:
        """The one-time code in the nth message that reached this address."""
        async def arrived() -> list[Any] | None:
            found = self.mailbox.to(address)
            return found if len(found) >= nth else None
        messages = await wait_for(arrived, timeout=20, what=f"mail to {address}")
        body = messages[nth - 1].get_payload(decode=True).decode()
        match = re.search(r"code: (\d{6})", body)
        assert match, body
        return match.group(1)

    async def sql(self, service: str, query: str, *args: Any) -> list[asyncpg.Record]:
        async with self.apps[service].state.pool.acquire() as conn:
            return list(await conn.fetch(query, *args))


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def rights(postgres_admin_dsn: str, kafka_bootstrap: str) -> AsyncIterator[Rights]:
    suite = Suite(postgres_admin_dsn, kafka_bootstrap, f"t{uuid.uuid4().hex[:8]}.")
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    ports = {name: free_port() for name in FACTORIES}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    url_settings = {f"{name.replace('-', '_')}_url": url for name, url in urls.items()}
    apps: dict[str, FastAPI] = {}
    settings: dict[str, Any] = {}
    for name, (factory, settings_cls) in FACTORIES.items():
        extra: dict[str, Any] = {}
        if name == "subject-rights":
            extra = {"smtp_url": f"smtp://127.0.0.1:{smtp.port}", "smtp_poll_interval_s": 0.2,
                     "sweep_interval_s": 3600}
        settings[name] = settings_cls(**suite.env(await suite.new_database(name), name),
                                      **url_settings, **extra)
        apps[name] = factory(settings[name])
    rights = Rights(suite, apps, urls, settings, mailbox)
    try:
        async with contextlib.AsyncExitStack() as stack:
            for name in FACTORIES:
                await stack.enter_async_context(serve(apps[name], ports[name]))
            for name, url in urls.items():
                rights.http[name] = await stack.enter_async_context(
                    httpx.AsyncClient(base_url=url, timeout=30))

            async def ready() -> bool:
                known = (await rights.retention.get("/healthz")).json().get("stores_known", [])
                joined = all(a.state.consumer and a.state.consumer.assigned.is_set()
                             for a in apps.values())
                return set(known) == set(FACTORIES) and joined

            await wait_for(ready, timeout=60, what="every store known and every consumer joined")
            yield rights
    finally:
        smtp.stop()
        for name in suite._databases:
            with contextlib.suppress(Exception):
                await drop_database(suite.admin_dsn, name)
