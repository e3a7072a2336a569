"""The message outbox: mail written with the change, sent through a real SMTP server."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from aiosmtpd.controller import Controller

from devstack.infra import free_port
from devstack.testing import Suite, app_client, auth, read_events
from privacy_kit.app import create_app
from privacy_kit.db import create_pool, migrate
from privacy_kit.events import Topic
from privacy_kit.messages import MessageSender, queue_message
from privacy_kit.protocol import ErasureCompleted, ErasureRequested, envelope, payload_of
from privacy_kit.provider import DataCategory, ErasureScope, PrivacyProvider
from privacy_kit.settings import ServiceSettings


class Inbox:
    def __init__(self) -> None:
        self.received: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


async def _pool(suite: Suite) -> asyncpg.Pool:
    dsn = await suite.new_database("messages")
    await migrate(dsn)
    return await create_pool(dsn)


async def test_a_committed_message_is_sent_once_and_a_rolled_back_one_never(
    suite: Suite, smtp_server
) -> None:
    controller, inbox = smtp_server
    pool = await _pool(suite)
    settings = ServiceSettings(**suite.env(suite.admin_dsn, "messages-test"),
                               smtp_url=f"smtp://127.0.0.1:{controller.port}",
                               smtp_from="Privacy <privacy@example.org>")
    sender = MessageSender(settings, pool)
    with pytest.raises(RuntimeError):
        async with pool.acquire() as conn, conn.transaction():
            await queue_message(conn, kind="identity_code", recipient="a@example.org",
                                title="Never", body="rolled back", subject_id="s-1")
            raise RuntimeError("the change failed")
    async with pool.acquire() as conn, conn.transaction():
        await queue_message(conn, kind="identity_code", recipient="b@example.org",
                            title="Your code", body="Your code is 123456.", subject_id="s-2")

    assert await sender.send_batch() == 1
    assert await sender.send_batch() == 0  # sent once, not again
    assert [e.rcpt_tos for e in inbox.received] == [["b@example.org"]]
    text = inbox.received[0].content.decode()
    assert "Subject: Your code" in text and "123456" in text
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT sent_at, attempts FROM message_outbox")
    assert row["sent_at"] is not None and row["attempts"] == 1
    await pool.close()


async def test_o12_a_message_carries_its_one_click_unsubscribe_headers(
    suite: Suite, smtp_server
) -> None:
    controller, inbox = smtp_server
    pool = await _pool(suite)
    settings = ServiceSettings(**suite.env(suite.admin_dsn, "messages-test"),
                               smtp_url=f"smtp://127.0.0.1:{controller.port}")
    url = "https://privacy.example.org/v1/unsubscribe/abc.def.ghi"
    headers = {"List-Unsubscribe": f"<{url}>",
               "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    async with pool.acquire() as conn, conn.transaction():
        await queue_message(conn, kind="newsletter", recipient="d@example.org", title="News",
                            body="text", subject_id="s-4", headers=headers)
        for bad in ({"Subject": "other"}, {"X-Note": "a\r\nBcc: e@example.org"}):
            with pytest.raises(ValueError):
                await queue_message(conn, kind="newsletter", recipient="d@example.org",
                                    title="News", body="text", headers=bad)
    assert await MessageSender(settings, pool).send_batch() == 1
    text = inbox.received[0].content.decode()
    assert f"List-Unsubscribe: <{url}>" in text
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in text
    await pool.close()


async def test_an_unreachable_mail_server_keeps_the_message_with_its_error(suite: Suite) -> None:
    pool = await _pool(suite)
    settings = ServiceSettings(**suite.env(suite.admin_dsn, "messages-test"),
                               smtp_url=f"smtp://127.0.0.1:{free_port()}")
    async with pool.acquire() as conn, conn.transaction():
        await queue_message(conn, kind="breach_notice", recipient="c@example.org",
                            title="Notice", body="text", subject_id="s-3")
    await MessageSender(settings, pool).send_batch()
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT sent_at, attempts, last_error FROM message_outbox")
    assert row["sent_at"] is None and row["attempts"] == 1 and row["last_error"]
    await pool.close()


class Store(PrivacyProvider):
    store = "letters"

    def inventory(self) -> list[DataCategory]:
        return [DataCategory(name="letters", fields=["x"], purpose="p", legal_basis="b",
                             retention_rule="r")]

    async def export(self, conn: asyncpg.Connection, subject_id: str) -> dict[str, Any]:
        return {}

    async def erase(self, conn: asyncpg.Connection, scope: ErasureScope) -> dict[str, int]:
        return {}


async def test_without_smtp_messages_are_kept_for_staff_and_go_with_the_person(
    suite: Suite, tmp_path: Path
) -> None:
    dsn = await suite.new_database("letters")
    app = create_app(ServiceSettings(**suite.env(dsn, "letters")), title="letters",
                     provider=Store(), migrations=tmp_path)
    async with app_client(app) as client:
        async with app.state.pool.acquire() as conn, conn.transaction():
            for n in range(3):
                await queue_message(conn, kind="identity_code", recipient=f"p{n}@example.org",
                                    title="Code", body=f"code {n}", subject_id=f"s-{n % 2}")
        assert app.state.message_sender is None
        listed = await client.get("/v1/messages/letters", params={"subject_id": "s-0"},
                                  headers=auth("dpo"))
        assert listed.status_code == 200
        assert sorted(m["recipient"] for m in listed.json()["items"]) == [
            "p0@example.org", "p2@example.org"]
        first = await client.get("/v1/messages/letters", params={"limit": 2}, headers=auth("dpo"))
        second = await client.get("/v1/messages/letters",
                                  params={"limit": 2, "cursor": first.json()["next_cursor"]},
                                  headers=auth("dpo"))
        assert len(first.json()["items"]) == 2 and len(second.json()["items"]) == 1
        assert second.json()["next_cursor"] is None
        assert (await client.get("/v1/messages/letters",
                                 headers=auth("participant", sub="s-0"))).status_code == 403

        # O25: the person's erasure takes the letters written to them, and says so.
        job = uuid.uuid4()
        request = ErasureRequested(job_id=job, scope=ErasureScope(kind="subject", subject_id="s-0"),
                                   stores=["letters"], deadline_at=datetime.now(UTC))
        producer = AIOKafkaProducer(bootstrap_servers=suite.kafka_bootstrap)
        await producer.start()
        try:
            wire = envelope(request, source="retention", subject_id="s-0")
            await producer.send_and_wait(suite.topic(Topic.ERASURE),
                                         wire.model_dump_json().encode(), key=b"s-0")
        finally:
            await producer.stop()
        [done] = await read_events(
            suite.kafka_bootstrap, suite.topic(Topic.ERASURE), timeout=30,
            match=lambda e: e.type == "erasure.completed")
        counts = payload_of(done, ErasureCompleted).counts
        # O3: the DPO's reads of these letters (the access log) go with the person too.
        assert counts["messages"] == 2 and counts["access_log"] >= 1
        async with app.state.pool.acquire() as conn:
            left = await conn.fetch("SELECT subject_id FROM message_outbox")
        assert [r["subject_id"] for r in left] == ["s-1"]
