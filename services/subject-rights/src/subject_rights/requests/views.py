"""Intake of data subject requests. The full case flow (identity, routing, outcome) comes later."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from privacy_kit.app import DbConn
from privacy_kit.auth import CurrentPrincipal, check_subject, check_tenant
from privacy_kit.errors import ApiError
from privacy_kit.outbox import emit
from privacy_kit.protocol import SubjectRequestReceived
from subject_rights.settings import Settings

router = APIRouter(prefix="/v1/subject-requests", tags=["subject requests"])

Kind = Literal["access", "rectification", "erasure", "restriction", "portability", "objection",
               "automated-decision-review", "consent-withdrawal"]


class SubjectRequestCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"kind": "access", "details": "I would like a copy of my training history."}]})

    kind: Kind
    details: str = Field(default="", max_length=10000)
    subject_id: str | None = Field(
        default=None, min_length=1, max_length=200,
        description="Staff or a Beheerder filing on someone's behalf name the person here.")


class SubjectRequestRead(BaseModel):
    id: uuid.UUID
    subject_id: str
    tenant_id: str | None
    kind: str
    details: str
    status: str
    received_at: datetime
    due_at: datetime


@router.post("", status_code=201, response_model=SubjectRequestRead,
             summary="File a data subject request (O19); it is due in four weeks (O21)")
async def file_request(body: SubjectRequestCreate, principal: CurrentPrincipal, conn: DbConn,
                       request: Request) -> Any:
    settings: Settings = request.app.state.settings
    subject_id = body.subject_id or principal.sub
    if subject_id != principal.sub and not (principal.is_staff or principal.has("beheerder")):
        raise ApiError(403, "forbidden", "You can only file a request about yourself.")
    now = datetime.now(UTC)
    async with conn.transaction():
        row = await conn.fetchrow(
            """INSERT INTO subject_request (id, subject_id, tenant_id, kind, details, submitted_by,
                   received_at, due_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *""",
            uuid.uuid4(), subject_id, principal.tenant, body.kind, body.details, principal.sub,
            now, now + timedelta(days=settings.answer_within_days),
        )
        assert row is not None
        await emit(conn, SubjectRequestReceived(request_id=row["id"], kind=body.kind),
                   source=settings.service_name, tenant_id=principal.tenant, subject_id=subject_id)
    return dict(row)


@router.get("/{request_id}", response_model=SubjectRequestRead, summary="One request")
async def get_request(request_id: uuid.UUID, principal: CurrentPrincipal, conn: DbConn) -> Any:
    row = await conn.fetchrow("SELECT * FROM subject_request WHERE id = $1", request_id)
    if row is None:
        raise ApiError(404, "not_found", "There is no request with this id.")
    if principal.has("beheerder") and row["tenant_id"]:
        check_tenant(principal, row["tenant_id"])
    else:
        check_subject(principal, row["subject_id"])
    return dict(row)
