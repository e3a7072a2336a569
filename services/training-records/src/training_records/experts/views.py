"""Subject-matter experts: not participants; their public profile may be shown to customers (O2)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from privacy_kit.app import DbConn
from privacy_kit.auth import CurrentPrincipal, Principal, require_roles
from privacy_kit.paging import Page, Paging, page_of
from privacy_kit.sorting import Ordering, SortOrder
from training_records.access import not_found
from training_records.sensitive import refuse_bsn

router = APIRouter(prefix="/v1/experts", tags=["experts"])


class ExpertCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "name": "Dr. Anna Bakker", "email": "anna@example.org", "headline": "Privacy lawyer",
        "bio": "Twenty years of data protection practice.", "expertise": ["AVG", "security"]}]})
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    headline: str = Field("", max_length=200)
    bio: str = Field("", max_length=5000)
    expertise: list[str] = Field([], max_length=50)


class ExpertPublic(BaseModel):
    """What customers may see: never the e-mail address."""

    id: uuid.UUID
    name: str
    headline: str
    bio: str
    expertise: list[str]


class ExpertRead(ExpertPublic):
    email: str
    created_at: datetime


def _public(row: asyncpg.Record) -> dict[str, object]:
    profile = json.loads(row["public_profile"] or "{}")
    return {"id": row["id"], "name": row["name"], "headline": profile.get("headline", ""),
            "bio": profile.get("bio", ""), "expertise": profile.get("expertise", [])}


@router.post("", status_code=201, response_model=ExpertRead,
             summary="Register a subject-matter expert with a public profile (operator)")
async def create_expert(
    body: ExpertCreate, conn: DbConn, principal: Principal = Depends(require_roles("operator"))
) -> ExpertRead:
    refuse_bsn(body.model_dump(mode="json"), allowed=False)
    profile = {"headline": body.headline, "bio": body.bio, "expertise": body.expertise}
    async with conn.transaction():
        row = await conn.fetchrow(
            """INSERT INTO person (id, kind, name, email, public_profile, created_by)
               VALUES ($1, 'expert', $2, $3, $4::jsonb, $5)
               RETURNING id, name, email, public_profile, created_at""",
            uuid.uuid4(), body.name, body.email, json.dumps(profile), principal.sub)
    return ExpertRead(**_public(row), email=row["email"], created_at=row["created_at"])


ORDERING = Ordering({"name": ("name", "text")}, tiebreak=("id", "uuid"), default="name")


@router.get("", response_model=Page[ExpertPublic],
            summary="Public profiles of subject-matter experts (any signed-in user)")
async def list_experts(
    conn: DbConn, principal: CurrentPrincipal, page: Paging,
    sort: Annotated[SortOrder, Depends(ORDERING)],
) -> Page[ExpertPublic]:
    where, order_by, args = sort.keyset(page, first_param=1)
    rows = await conn.fetch(
        f"""SELECT id, name, public_profile FROM person WHERE kind = 'expert'
            AND restricted_at IS NULL AND {where} ORDER BY {order_by}
            LIMIT {page.limit + 1}""", *args)
    return page_of([ExpertPublic(**_public(r)) for r in rows], page, sort.cursor_key)


@router.get("/{expert_id}", response_model=ExpertPublic,
            summary="One expert's public profile (any signed-in user)")
async def get_expert(expert_id: uuid.UUID, conn: DbConn, principal: CurrentPrincipal) -> ExpertPublic:
    row = await conn.fetchrow("SELECT id, name, public_profile FROM person WHERE id = $1 "
                              "AND kind = 'expert' AND restricted_at IS NULL", expert_id)
    if row is None:
        raise not_found("expert")
    return ExpertPublic(**_public(row))
