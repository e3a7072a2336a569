"""Legal holds (O17): kept past its term until released."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from privacy_kit.app import DbConn
from privacy_kit.auth import Principal, require_roles
from privacy_kit.errors import ApiError
from privacy_kit.paging import Page, Paging, page_of
from privacy_kit.sorting import Ordering, SortOrder

router = APIRouter(prefix="/v1/legal-holds", tags=["legal holds"])
Staff = Annotated[Principal, Depends(require_roles("dpo", "operator"))]


class LegalHoldCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"subject_id": "5b8c2c1e-6a0b-4d55-9a57-3f1c2f7e9d10",
         "reason": "Claim filed by the participant, case 2026-114"}]})

    subject_id: str | None = Field(default=None, min_length=1, max_length=200)
    tenant_id: str | None = Field(default=None, min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=2000)

    @model_validator(mode="after")
    def _names_something(self) -> LegalHoldCreate:
        if not self.subject_id and not self.tenant_id:
            raise ValueError("a legal hold names a subject_id, a tenant_id or both")
        return self


class LegalHoldRead(BaseModel):
    id: uuid.UUID
    subject_id: str | None
    tenant_id: str | None
    reason: str
    placed_by: str
    placed_at: datetime
    released_by: str | None
    released_at: datetime | None


@router.post("", status_code=201, response_model=LegalHoldRead, summary="Place a legal hold")
async def place_hold(body: LegalHoldCreate, principal: Staff, conn: DbConn) -> Any:
    row = await conn.fetchrow(
        """INSERT INTO legal_hold (id, subject_id, tenant_id, reason, placed_by)
           VALUES ($1, $2, $3, $4, $5) RETURNING *""",
        uuid.uuid4(), body.subject_id, body.tenant_id, body.reason, principal.sub,
    )
    return dict(row)


ORDERING = Ordering({"placed_at": ("placed_at", "timestamptz")}, tiebreak=("id", "uuid"),
                    default="-placed_at")


@router.get("", response_model=Page[LegalHoldRead], summary="Active and released legal holds")
async def list_holds(
    principal: Staff, conn: DbConn, page: Paging,
    sort: Annotated[SortOrder, Depends(ORDERING)],
    active: Annotated[bool | None, Query(description="Only active (true) or released "
                                         "(false) holds")] = None,
) -> Any:
    where, order_by, args = sort.keyset(page, first_param=2)
    rows = await conn.fetch(
        f"""SELECT * FROM legal_hold WHERE ($1::boolean IS NULL OR (released_at IS NULL) = $1)
            AND {where} ORDER BY {order_by} LIMIT {page.limit + 1}""", active, *args)
    return page_of([dict(r) for r in rows], page, sort.cursor_key)


@router.post("/{hold_id}/release", response_model=LegalHoldRead, summary="Release a legal hold")
async def release_hold(hold_id: uuid.UUID, principal: Staff, conn: DbConn) -> Any:
    row = await conn.fetchrow(
        """UPDATE legal_hold SET released_at = now(), released_by = $2
           WHERE id = $1 AND released_at IS NULL RETURNING *""",
        hold_id, principal.sub,
    )
    if row is None:
        raise ApiError(404, "not_found", "There is no active legal hold with this id.")
    return dict(row)
