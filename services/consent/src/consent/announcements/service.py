"""O14: a policy version with `announce` reaches the people it concerns, and the ledger's
neighbour table records who was told, when, and who accepted the version.

The people it concerns are those with consent records (the ledger's subjects) when it is
published. Consent holds no e-mail addresses: a background sweep asks training-records for
them over HTTP (service token), in batches, and queues one message per person in the message
outbox (`privacy_kit.messages`), in the same transaction that marks them told. People without
an address there (visitors known only by consent, erased or restricted people) are marked
`no_address`. When training-records cannot answer, the batch stays pending for the next round.
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
import httpx

from consent.announcements.models import Acceptance, AnnouncementSummary, Recipient, Status
from consent.ledger.models import Actor
from consent.settings import Settings
from privacy_kit.auth import mint_service_token
from privacy_kit.calls import service_client
from privacy_kit.errors import ApiError
from privacy_kit.messages import queue_message
from privacy_kit.paging import Page, PageParams, page_of
from privacy_kit.sorting import Ordering, SortOrder

log = logging.getLogger(__name__)

KIND = "policy_announcement"


async def plan(*, conn: asyncpg.Connection, version: str) -> int:
    """At publication: everyone with consent records is to be told."""
    status = await conn.execute(
        """INSERT INTO policy_announcement (policy_version, subject_id)
           SELECT DISTINCT $1, subject_id FROM consent_record
           ON CONFLICT DO NOTHING""",
        version,
    )
    return int(status.rsplit(" ", 1)[-1])


def _message(row: asyncpg.Record, contact: dict[str, Any]) -> tuple[str, str]:
    title = f"Ons privacybeleid is gewijzigd / Our privacy policy has changed ({row['version']})"
    body = (
        f"Beste {contact.get('name') or 'deelnemer'},\n\n"
        f"Per {row['effective_date']:%d-%m-%Y} geldt een nieuwe versie van ons privacybeleid "
        f"({row['version']}). Wat er verandert:\n\n{row['changelog']}\n\n"
        f"Lees het hele beleid op {row['url']}. U kunt uw toestemmingen altijd inzien en "
        "wijzigen.\n\n"
        f"A new version of our privacy policy ({row['version']}) applies from "
        f"{row['effective_date']:%Y-%m-%d}; the changes are listed above and the full text is at "
        f"{row['url']}.\n"
    )
    return title, body


async def fetch_contacts(
    settings: Settings, subject_ids: list[str]
) -> dict[str, dict[str, Any]] | None:
    """Addresses training-records knows for these subjects; None when it cannot answer."""
    headers = {"Authorization": f"Bearer {mint_service_token(settings)}"}
    try:
        response = await service_client().post(
            f"{settings.store_urls['training-records']}/internal/contact-addresses",
            json={"subject_ids": subject_ids, "purpose": "policy announcement (O14)"},
            headers=headers, timeout=settings.contacts_timeout_s)
        response.raise_for_status()
        return {c["subject_id"]: c for c in response.json()["contacts"]}
    except (httpx.HTTPError, KeyError, TypeError, ValueError) as exc:
        log.warning("training-records could not give addresses (%s: %s); trying again later",
                    type(exc).__name__, exc)
        return None


async def announce_pending(pool: asyncpg.Pool, settings: Settings) -> int:
    """Tell one batch of pending people; returns how many were settled (told or no address)."""
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            """SELECT a.policy_version AS version, a.subject_id, v.changelog, v.url,
                      v.effective_date
               FROM policy_announcement a JOIN policy_version v ON v.version = a.policy_version
               WHERE a.status = 'pending' ORDER BY a.created_at, a.subject_id
               LIMIT $1 FOR UPDATE OF a SKIP LOCKED""",
            settings.announcement_batch,
        )
        if not rows:
            return 0
        contacts = await fetch_contacts(settings, sorted({r["subject_id"] for r in rows}))
        if contacts is None:
            await conn.executemany(
                """UPDATE policy_announcement SET attempts = attempts + 1,
                       last_error = 'training-records did not answer'
                   WHERE policy_version = $1 AND subject_id = $2""",
                [(r["version"], r["subject_id"]) for r in rows])
            return 0
        for row in rows:
            contact = contacts.get(row["subject_id"])
            if contact is None:
                await conn.execute(
                    """UPDATE policy_announcement SET status = 'no_address',
                           attempts = attempts + 1, last_error = NULL
                       WHERE policy_version = $1 AND subject_id = $2""",
                    row["version"], row["subject_id"])
                continue
            title, body = _message(row, contact)
            message_id = await queue_message(
                conn, kind=KIND, recipient=contact["email"], title=title, body=body,
                subject_id=row["subject_id"], tenant_id=contact.get("tenant_id"))
            await conn.execute(
                """UPDATE policy_announcement SET status = 'told', told_at = now(),
                       message_id = $3, attempts = attempts + 1, last_error = NULL
                   WHERE policy_version = $1 AND subject_id = $2""",
                row["version"], row["subject_id"], message_id)
        return len(rows)


async def _announced(conn: asyncpg.Connection, version: str) -> bool:
    announce = await conn.fetchval("SELECT announce FROM policy_version WHERE version = $1",
                                   version)
    if announce is None:
        raise ApiError(404, "policy_not_found", f"There is no policy version '{version}'.")
    return bool(announce)


async def summary(*, conn: asyncpg.Connection, version: str) -> AnnouncementSummary:
    announce = await _announced(conn, version)
    row = await conn.fetchrow(
        """SELECT count(*) AS people,
                  count(*) FILTER (WHERE status = 'pending') AS pending,
                  count(*) FILTER (WHERE status = 'told') AS told,
                  count(*) FILTER (WHERE status = 'no_address') AS no_address,
                  (SELECT count(*) FROM policy_acceptance WHERE policy_version = $1) AS accepted
           FROM policy_announcement WHERE policy_version = $1""",
        version)
    return AnnouncementSummary(policy_version=version, announce=announce, **dict(row))


RECIPIENT_ORDERING = Ordering(
    {"subject_id": ("a.subject_id", "text"), "created_at": ("a.created_at", "timestamptz")},
    tiebreak=("a.subject_id", "text"), default="subject_id", tiebreak_key="subject_id",
)
ACCEPTANCE_ORDERING = Ordering(
    {"accepted_at": ("accepted_at", "timestamptz")}, tiebreak=("policy_version", "text"),
    default="-accepted_at", tiebreak_key="policy_version",
)


async def recipients(
    *, conn: asyncpg.Connection, version: str, status: Status | None, page: PageParams,
    sort: SortOrder,
) -> Page[Recipient]:
    await _announced(conn, version)
    where, order_by, args = sort.keyset(page, first_param=3)
    rows = await conn.fetch(
        f"""SELECT a.subject_id, a.status, a.created_at, a.told_at, a.message_id, p.accepted_at
            FROM policy_announcement a
            LEFT JOIN policy_acceptance p
              ON p.subject_id = a.subject_id AND p.policy_version = a.policy_version
            WHERE a.policy_version = $1 AND ($2::text IS NULL OR a.status = $2) AND {where}
            ORDER BY {order_by} LIMIT {page.limit + 1}""",
        version, status, *args)
    items = [Recipient(**dict(r)) for r in rows]
    return page_of(items, page, sort.cursor_key)


def _acceptance(row: asyncpg.Record) -> Acceptance:
    return Acceptance(subject_id=row["subject_id"], policy_version=row["policy_version"],
                      accepted_at=row["accepted_at"],
                      actor=Actor(sub=row["actor_sub"], role=row["actor_role"],
                                  on_behalf=row["on_behalf"]))


async def accept(
    *, conn: asyncpg.Connection, subject_id: str, version: str, actor: Actor
) -> Acceptance:
    """The person accepts a published version; a second acceptance keeps the first."""
    known = await conn.fetchval("SELECT true FROM policy_version WHERE version = $1", version)
    if not known:
        raise ApiError(404, "policy_not_found",
                       f"There is no published policy version '{version}' to accept.")
    await conn.execute(
        """INSERT INTO policy_acceptance (subject_id, policy_version, actor_sub, actor_role,
               on_behalf) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING""",
        subject_id, version, actor.sub, actor.role, actor.on_behalf)
    row = await conn.fetchrow(
        "SELECT * FROM policy_acceptance WHERE subject_id = $1 AND policy_version = $2",
        subject_id, version)
    return _acceptance(row)


async def acceptances(
    *, conn: asyncpg.Connection, subject_id: str, page: PageParams, sort: SortOrder
) -> Page[Acceptance]:
    """Newest first, unless another sort is asked for."""
    rows = await sort.fetch_page(
        conn, page, "SELECT * FROM policy_acceptance WHERE subject_id = $1", subject_id)
    items = [_acceptance(r) for r in rows]
    return page_of(items, page, sort.cursor_key)
