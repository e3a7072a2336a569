"""The message outbox: mail to people, written in the business transaction, sent by SMTP.

`queue_message(conn, ...)` writes the message with the change that causes it (an identity code,
a breach notice, a policy announcement), so a rolled-back change sends nothing and a committed
one is never lost. With `SMTP_URL` set (`smtp://user:password@host:port`, or `smtps://` for TLS
from the start; `?starttls=1` to upgrade) a sender delivers them and marks them sent; without it
they are kept, and staff read them at `GET /v1/messages/<store>` (development, tests, and
deployments that hand mail to another system).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Mapping
from datetime import datetime
from email.message import EmailMessage
from typing import Annotated, Any
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
import asyncpg
from fastapi import APIRouter, Query
from pydantic import BaseModel

from privacy_kit.access_log import AccessLogged, ReadLog
from privacy_kit.auth import Staff
from privacy_kit.db import rows_affected
from privacy_kit.deps import DbConn
from privacy_kit.paging import Page, Paging, page_of
from privacy_kit.settings import ServiceSettings
from privacy_kit.worker import Worker, listen, unlisten, wait_until_set

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "message_outbox"


class Message(BaseModel):
    id: uuid.UUID
    kind: str
    subject_id: str | None
    tenant_id: str | None
    recipient: str
    title: str
    body: str
    created_at: datetime
    sent_at: datetime | None
    attempts: int
    last_error: str | None
    headers: dict[str, str] = {}


# Set by the sender itself; a caller's header of these names is refused.
_OWN_HEADERS = frozenset({"from", "to", "subject", "message-id", "content-type",
                          "content-transfer-encoding", "mime-version"})


async def queue_message(
    conn: asyncpg.Connection, *, kind: str, recipient: str, title: str, body: str,
    subject_id: str | None = None, tenant_id: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> uuid.UUID:
    """Write a message inside the caller's transaction; it is sent after the commit.

    `headers`: extra mail headers, e.g. the `List-Unsubscribe` and `List-Unsubscribe-Post`
    pair of a one-click unsubscribe link (consent's `GET /v1/subjects/{id}/unsubscribe-link`).
    """
    extra = dict(headers or {})
    bad = [name for name, value in extra.items()
           if name.lower() in _OWN_HEADERS or "\n" in value or "\r" in value]
    if bad:
        raise ValueError(f"headers the sender sets itself or with line breaks: {', '.join(bad)}")
    message_id = uuid.uuid4()
    await conn.execute(
        """INSERT INTO message_outbox (id, kind, subject_id, tenant_id, recipient, title, body,
               headers)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)""",
        message_id, kind, subject_id, tenant_id, recipient, title, body, json.dumps(extra),
    )
    await conn.execute(f"NOTIFY {NOTIFY_CHANNEL}")
    return message_id


async def forget_subject_messages(conn: asyncpg.Connection, subject_id: str) -> int:
    return rows_affected(
        await conn.execute("DELETE FROM message_outbox WHERE subject_id = $1", subject_id)
    )


async def forget_tenant_messages(
    conn: asyncpg.Connection, tenant_id: str, *, keep_subjects: list[str] | None = None
) -> int:
    return rows_affected(await conn.execute(
        """DELETE FROM message_outbox WHERE tenant_id = $1
           AND (subject_id IS NULL OR NOT (subject_id = ANY($2::text[])))""",
        tenant_id, keep_subjects or [],
    ))


async def subject_messages(conn: asyncpg.Connection, subject_id: str) -> list[dict[str, Any]]:
    """What was written to the person, for their access bundle."""
    rows = await conn.fetch(
        """SELECT id, kind, recipient, title, body, created_at, sent_at FROM message_outbox
           WHERE subject_id = $1 ORDER BY created_at""",
        subject_id,
    )
    return [dict(r) for r in rows]


def _smtp_options(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError("SMTP_URL must start with smtp:// or smtps://")
    query = parse_qs(parts.query)
    return {
        "hostname": parts.hostname or "127.0.0.1",
        "port": parts.port or (465 if parts.scheme == "smtps" else 25),
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
        "use_tls": parts.scheme == "smtps",
        "start_tls": query.get("starttls", ["0"])[0] in ("1", "true", "yes"),
        "timeout": 10,
    }


class MessageSender(Worker):
    """Sends unsent messages through SMTP. Replicas claim rows with FOR UPDATE SKIP LOCKED."""

    task_name = "message-sender"

    def __init__(self, settings: ServiceSettings, pool: asyncpg.Pool) -> None:
        super().__init__()
        self.settings = settings
        self.pool = pool
        self.options = _smtp_options(settings.smtp_url)
        self._wake = asyncio.Event()
        self._listener: asyncpg.Connection | None = None

    async def _close(self) -> None:
        await unlisten(self.pool, self._listener, NOTIFY_CHANNEL, self._woken)

    def _woken(self, *_: Any) -> None:
        self._wake.set()

    async def _run(self) -> None:
        self._listener = await listen(self.pool, NOTIFY_CHANNEL, self._woken, log)
        while True:
            try:
                while await self.send_batch() > 0:
                    pass
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("message sender failed: %s", self.last_error)
            self._wake.clear()
            await wait_until_set(self._wake, self.settings.smtp_poll_interval_s)

    async def send_batch(self, limit: int = 20) -> int:
        """Send up to `limit` messages; each is marked sent only after the server accepted it."""
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                """SELECT id, recipient, title, body, headers FROM message_outbox
                   WHERE sent_at IS NULL AND attempts < $2
                   ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED""",
                limit, self.settings.smtp_max_attempts,
            )
            for row in rows:
                mail = EmailMessage()
                mail["From"] = self.settings.smtp_from
                mail["To"] = row["recipient"]
                mail["Subject"] = row["title"]
                mail["Message-ID"] = f"<{row['id']}@{self.settings.service_name}.privacy-suite>"
                for name, value in json.loads(row["headers"]).items():
                    mail[name] = value
                mail.set_content(row["body"])
                try:
                    await aiosmtplib.send(mail, **self.options)
                except (aiosmtplib.SMTPException, OSError) as exc:
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    await conn.execute(
                        """UPDATE message_outbox SET attempts = attempts + 1, last_error = $2
                           WHERE id = $1""",
                        row["id"], self.last_error[:2000],
                    )
                    continue
                await conn.execute(
                    """UPDATE message_outbox SET sent_at = now(), attempts = attempts + 1,
                           last_error = NULL WHERE id = $1""",
                    row["id"],
                )
            return len(rows)


def messages_router(store: str) -> APIRouter:
    """Staff read what a store wrote to people (`GET /v1/messages/<store>`), newest first."""
    router = APIRouter(prefix=f"/v1/messages/{store}", tags=["messages"])

    @router.get("", summary="Messages this service wrote to people (staff)")
    async def list_messages(
        staff: Staff, conn: DbConn, paging: Paging,
        log: Annotated[ReadLog, AccessLogged("messages sent to people")],
        subject_id: Annotated[str | None, Query(max_length=200)] = None,
        kind: Annotated[str | None, Query(max_length=100)] = None,
    ) -> Page[Message]:
        after = paging.cursor or [None, None]
        rows = await conn.fetch(
            """SELECT * FROM message_outbox
               WHERE ($1::text IS NULL OR subject_id = $1) AND ($2::text IS NULL OR kind = $2)
                 AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4::uuid))
               ORDER BY created_at DESC, id DESC LIMIT $5""",
            subject_id, kind,
            datetime.fromisoformat(after[0]) if after[0] else None,
            after[1], paging.limit + 1,
        )
        items = [Message.model_validate({**dict(r), "headers": json.loads(r["headers"])})
                 for r in rows]
        await log.record_rows(conn, [(m.subject_id, m.tenant_id) for m in items[:paging.limit]
                                     if m.subject_id], what="message sent to the person")
        return page_of(items, paging, key=lambda m: [m.created_at.isoformat(), str(m.id)])

    return router
