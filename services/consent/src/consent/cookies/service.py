"""Cookie choices: append a choice per visit, read the latest, link to a subject on login."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from consent import events
from consent.catalogue.service import CURRENT_POLICY_SQL, current_policy_version
from consent.cookies.models import (
    ConsentMode,
    CookieChoiceChange,
    CookieChoiceRead,
    CookieChoices,
)
from consent.ledger.models import Actor
from consent.ledger.service import append_record, effective_state
from privacy_kit.errors import ApiError

_LATEST_SQL = f"""
SELECT c.functional, c.analytics, c.marketing, c.gpc, c.policy_version, c.recorded_at,
       c.subject_id, ({CURRENT_POLICY_SQL}) AS current_policy
FROM (SELECT 1) AS one
LEFT JOIN LATERAL (
    SELECT * FROM cookie_choice WHERE cookie_id = $1 ORDER BY recorded_at DESC LIMIT 1
) AS c ON true
"""


def consent_mode(choices: CookieChoices) -> ConsentMode:
    def state(on: bool) -> Any:
        return "granted" if on else "denied"

    return ConsentMode(
        ad_storage=state(choices.marketing),
        ad_user_data=state(choices.marketing),
        ad_personalization=state(choices.marketing),
        analytics_storage=state(choices.analytics),
        functionality_storage=state(choices.functional),
        personalization_storage=state(choices.functional),
        security_storage="granted",
    )


def _read(cookie_id: str, row: asyncpg.Record | dict[str, Any], *, gpc: bool) -> CookieChoiceRead:
    chosen = row["recorded_at"] is not None
    refused_by_gpc = bool(row["gpc"]) if chosen else False
    marketing = bool(row["marketing"]) if chosen else False
    if gpc and marketing:  # O12: the signal of this request refuses advertising
        marketing, refused_by_gpc = False, True
    choices = CookieChoices(
        functional=bool(row["functional"]) if chosen else False,
        analytics=bool(row["analytics"]) if chosen else False,
        marketing=marketing,
    )
    return CookieChoiceRead(
        cookie_id=cookie_id, choices=choices, consent_mode=consent_mode(choices), chosen=chosen,
        gpc=refused_by_gpc or gpc,
        policy_version=row["policy_version"] if chosen else row["current_policy"],
        recorded_at=row["recorded_at"], linked=row["subject_id"] is not None,
    )


async def latest(*, conn: asyncpg.Connection, cookie_id: str, gpc: bool) -> CookieChoiceRead:
    row = await conn.fetchrow(_LATEST_SQL, cookie_id)
    assert row is not None
    return _read(cookie_id, row, gpc=gpc)


async def choose(
    *, conn: asyncpg.Connection, cookie_id: str, change: CookieChoiceChange, gpc: bool
) -> CookieChoiceRead:
    if change.strictly_necessary is False:
        raise ApiError(422, "strictly_necessary_always_on",
                       "Strictly necessary cookies need no consent and cannot be switched off.")
    policy_version = await current_policy_version(conn=conn)
    linked_to = await conn.fetchval(
        """SELECT subject_id FROM cookie_choice WHERE cookie_id = $1 AND subject_id IS NOT NULL
           ORDER BY recorded_at DESC LIMIT 1""",
        cookie_id,
    )
    row = {
        "functional": change.functional, "analytics": change.analytics,
        "marketing": change.marketing and not gpc, "gpc": gpc and change.marketing,
        "policy_version": policy_version, "recorded_at": datetime.now(UTC),
        "subject_id": linked_to, "current_policy": policy_version,
    }
    await conn.execute(
        """INSERT INTO cookie_choice (id, cookie_id, subject_id, functional, analytics, marketing,
               gpc, policy_version, recorded_at, linked_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, CASE WHEN $3::text IS NULL THEN NULL
                   ELSE now() END)""",
        uuid.uuid4(), cookie_id, linked_to, row["functional"], row["analytics"],
        row["marketing"], row["gpc"], policy_version, row["recorded_at"],
    )
    return _read(cookie_id, row, gpc=gpc)


async def link(
    *, conn: asyncpg.Connection, cookie_id: str, subject_id: str, actor: Actor,
    tenant_id: str | None,
) -> tuple[int, dict[str, bool]]:
    """Link a visitor's choices to the person who signed in, and carry the latest banner choice
    into their ledger for each cookie purpose unless they chose more recently elsewhere."""
    other = await conn.fetchval(
        """SELECT subject_id FROM cookie_choice WHERE cookie_id = $1 AND subject_id IS NOT NULL
             AND subject_id <> $2 LIMIT 1""",
        cookie_id, subject_id,
    )
    if other is not None:
        raise ApiError(409, "cookie_linked_elsewhere",
                       "These cookie choices belong to someone else; choose again instead.")
    linked = await conn.fetch(
        """UPDATE cookie_choice SET subject_id = $2, linked_at = now()
           WHERE cookie_id = $1 AND subject_id IS NULL RETURNING id""",
        cookie_id, subject_id,
    )
    choice = await conn.fetchrow(
        """SELECT functional, analytics, marketing, policy_version, recorded_at FROM cookie_choice
           WHERE cookie_id = $1 ORDER BY recorded_at DESC LIMIT 1""",
        cookie_id,
    )
    if choice is None:
        raise ApiError(404, "no_cookie_choice", "There are no choices for this cookie id.")
    purposes = await conn.fetch(
        """SELECT p.id, p.cookie_category, (
               SELECT recorded_at FROM consent_record r WHERE r.subject_id = $1
                 AND r.purpose_id = p.id ORDER BY chain_index DESC LIMIT 1) AS last_recorded
           FROM purpose p
           WHERE p.retired_at IS NULL AND p.cookie_category IN ('functional', 'analytics', 'marketing')
           ORDER BY p.id""",
        subject_id,
    )
    recorded: dict[str, bool] = {}
    for purpose in purposes:
        if purpose["last_recorded"] is not None and purpose["last_recorded"] >= choice["recorded_at"]:
            continue
        granted = bool(choice[purpose["cookie_category"]])
        await append_record(
            conn=conn, subject_id=subject_id, purpose_id=purpose["id"], granted=granted,
            policy_version=choice["policy_version"], method="banner", actor=actor,
            tenant_id=tenant_id,
        )
        recorded[purpose["id"]] = granted
    if recorded:
        state = await effective_state(conn=conn, subject_id=subject_id)
        for purpose_id in recorded:
            await events.consent_changed(conn, subject_id=subject_id, purpose=purpose_id,
                                         granted=state.consents[purpose_id].granted,
                                         tenant_id=tenant_id)
    return len(linked), recorded
