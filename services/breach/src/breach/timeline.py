"""The append-only timeline: every change, assessment, notice and note, with actor and time.

A database trigger refuses UPDATE, DELETE and TRUNCATE on `breach_timeline`. Entries carry
counts, tenant ids and the DPO's own words, never subject ids or reporter contacts, so an
erasure never needs to touch them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from privacy_kit.auth import Principal


@dataclass(frozen=True)
class Actor:
    """Who made a change: a person's pseudonymous id with their roles, or this service."""

    sub: str
    roles: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        return cls(principal.sub, sorted(principal.roles))


def from_jsonb(value: Any) -> Any:
    """asyncpg hands jsonb over as text (no codec is set on the kit's pool)."""
    return json.loads(value) if isinstance(value, str) else value


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, default=str, separators=(",", ":"))


async def append(
    conn: asyncpg.Connection, *, breach_id: uuid.UUID, kind: str, actor: Actor, at: datetime,
    data: dict[str, Any] | None = None,
) -> int:
    entry_id: int = await conn.fetchval(
        """INSERT INTO breach_timeline (breach_id, kind, actor, actor_roles, at, data)
           VALUES ($1, $2, $3, $4, $5, $6::jsonb) RETURNING id""",
        breach_id, kind, actor.sub, actor.roles, at, _json(data or {}),
    )
    return entry_id


async def append_many(
    conn: asyncpg.Connection, *, breach_id: uuid.UUID, kind: str, actor: Actor, at: datetime,
    data: Sequence[dict[str, Any]],
) -> None:
    """Many entries of one kind in one statement (e.g. a notice per tenant)."""
    if not data:
        return
    await conn.execute(
        """INSERT INTO breach_timeline (breach_id, kind, actor, actor_roles, at, data)
           SELECT $1, $2, $3, $4, $5, d::jsonb FROM unnest($6::text[]) AS d""",
        breach_id, kind, actor.sub, actor.roles, at, [_json(d) for d in data],
    )


async def entries(
    conn: asyncpg.Connection, breach_id: uuid.UUID, *, after: int | None = None, limit: int | None = None,
) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT id, kind, actor, actor_roles, at, data FROM breach_timeline
           WHERE breach_id = $1 AND ($2::bigint IS NULL OR id > $2) ORDER BY id LIMIT $3""",
        breach_id, after, limit,
    )
