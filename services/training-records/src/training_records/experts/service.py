"""Subject-matter experts: not participants; their public profile may be shown to customers (O2)."""

from __future__ import annotations

import json
import uuid

import asyncpg

from privacy_kit.guards import refuse_bsn
from privacy_kit.paging import Page, PageParams, page_of
from privacy_kit.sorting import Ordering, SortOrder
from training_records.experts.models import ExpertCreate, ExpertPublic, ExpertRead

_PUBLIC = "SELECT id, name, public_profile FROM person WHERE kind = 'expert' AND restricted_at IS NULL"


def _public(row: asyncpg.Record) -> dict[str, object]:
    profile = json.loads(row["public_profile"] or "{}")
    return {"id": row["id"], "name": row["name"], "headline": profile.get("headline", ""),
            "bio": profile.get("bio", ""), "expertise": profile.get("expertise", [])}


async def create(*, conn: asyncpg.Connection, body: ExpertCreate, actor: str) -> ExpertRead:
    refuse_bsn(body.model_dump(mode="json"), allowed=False)
    profile = {"headline": body.headline, "bio": body.bio, "expertise": body.expertise}
    row = await conn.fetchrow(
        """INSERT INTO person (id, kind, name, email, public_profile, created_by)
           VALUES ($1, 'expert', $2, $3, $4::jsonb, $5)
           RETURNING id, name, email, public_profile, created_at""",
        uuid.uuid4(), body.name, body.email, json.dumps(profile), actor)
    return ExpertRead(**_public(row), email=row["email"], created_at=row["created_at"])


ORDERING = Ordering({"name": ("name", "text")}, tiebreak=("id", "uuid"), default="name")


async def list_public(
    *, conn: asyncpg.Connection, page: PageParams, sort: SortOrder
) -> Page[ExpertPublic]:
    where, order_by, args = sort.keyset(page, first_param=1)
    rows = await conn.fetch(
        f"{_PUBLIC} AND {where} ORDER BY {order_by} LIMIT {page.limit + 1}", *args)
    return page_of([ExpertPublic(**_public(r)) for r in rows], page, sort.cursor_key)


async def get_public(*, conn: asyncpg.Connection, expert_id: uuid.UUID) -> ExpertPublic | None:
    row = await conn.fetchrow(f"{_PUBLIC} AND id = $1", expert_id)
    return ExpertPublic(**_public(row)) if row else None
