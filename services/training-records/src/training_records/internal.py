"""Endpoints other services call with a service token (never routed by the gateway).

Subject-rights routes a request to the controller (O23) by the tenant a person belongs to,
and sends the one-time identity code (O20) to the e-mail address on file; retention checks
that a Beheerder erases only a participant of their own tenant.
"""

from __future__ import annotations

import uuid

import asyncpg
from fastapi import APIRouter, Request
from pydantic import BaseModel

from privacy_kit.auth import ServiceCaller
from privacy_kit.deps import DbConn
from training_records.access import log_reads, not_found

router = APIRouter(prefix="/internal/subjects/{subject_id}", tags=["internal"],
                   include_in_schema=False)


class SubjectTenant(BaseModel):
    subject_id: uuid.UUID
    kind: str
    tenant_id: uuid.UUID | None


class SubjectContact(SubjectTenant):
    email: str


async def _person(conn: asyncpg.Connection, subject_id: str) -> asyncpg.Record:
    try:
        sid = uuid.UUID(subject_id)
    except ValueError:
        raise not_found("person") from None
    row = await conn.fetchrow("SELECT id, kind, tenant_id, email FROM person WHERE id = $1", sid)
    if row is None:
        raise not_found("person")
    return row


@router.get("/tenant", summary="Which organisation a person belongs to (ids only)")
async def subject_tenant(subject_id: str, conn: DbConn, _: ServiceCaller) -> SubjectTenant:
    row = await _person(conn, subject_id)
    return SubjectTenant(subject_id=row["id"], kind=row["kind"], tenant_id=row["tenant_id"])


@router.get("/contact", summary="The e-mail address on file, for an identity code")
async def subject_contact(
    subject_id: str, conn: DbConn, caller: ServiceCaller, request: Request
) -> SubjectContact:
    row = await _person(conn, subject_id)
    # O3: the read is attributable; the person sees it among the recipients of their data.
    await log_reads(conn, principal=caller, request=request, tenant_id=row["tenant_id"],
                    subject_ids=[row["id"]], what="e-mail address (identity code)")
    return SubjectContact(subject_id=row["id"], kind=row["kind"], tenant_id=row["tenant_id"],
                          email=row["email"])
