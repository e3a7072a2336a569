"""Audits per client organisation (O29): staff record them, the client's Beheerders read them."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from privacy_kit.app import DbConn
from privacy_kit.auth import Staff, TenantManager
from privacy_kit.paging import Page, Paging
from privacy_kit.sorting import SortOrder
from retention.audits import service
from retention.audits.models import AuditCreate, AuditRead, AuditUpdate

router = APIRouter(prefix="/v1/tenants/{tenant_id}/audits", tags=["audits"])


@router.post("", status_code=201,
             summary="Record an audit of this client (dpo, operator); one regular audit a year")
async def record_audit(
    tenant_id: str, body: AuditCreate, conn: DbConn, staff: Staff
) -> AuditRead:
    async with conn.transaction():
        return await service.record(conn=conn, tenant_id=tenant_id, audit=body, actor=staff.sub)


@router.get("", summary="The audits of this client, newest first (its Beheerders, staff)")
async def list_audits(
    tenant_id: str, conn: DbConn, _: TenantManager, page: Paging,
    sort: Annotated[SortOrder, Depends(service.ORDERING)],
) -> Page[AuditRead]:
    return await service.list_for(conn=conn, tenant_id=tenant_id, page=page, sort=sort)


@router.get("/{audit_id}", summary="One audit of this client (its Beheerders, staff)")
async def get_audit(
    tenant_id: str, audit_id: uuid.UUID, conn: DbConn, _: TenantManager
) -> AuditRead:
    return await service.get(conn=conn, tenant_id=tenant_id, audit_id=audit_id)


@router.patch("/{audit_id}", summary="Add findings or record the follow-up (dpo, operator)")
async def update_audit(
    tenant_id: str, audit_id: uuid.UUID, body: AuditUpdate, conn: DbConn, staff: Staff
) -> AuditRead:
    async with conn.transaction():
        return await service.update(conn=conn, tenant_id=tenant_id, audit_id=audit_id,
                                    change=body, actor=staff.sub)
