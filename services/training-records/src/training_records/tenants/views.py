from __future__ import annotations

import uuid

from fastapi import APIRouter

from privacy_kit.app import DbConn
from privacy_kit.auth import (
    CurrentPrincipal,
    Operator,
    Staff,
    check_tenant,
)
from training_records.access import not_found
from training_records.tenants import service
from training_records.tenants.models import TenantCreate, TenantList, TenantRead, TenantUpdate

router = APIRouter(prefix="/v1/tenants", tags=["tenants"])


@router.post(
    "", status_code=201, response_model=TenantRead, summary="Create a tenant (operator)",
    responses={403: {"description": "Not an operator"}},
)
async def create_tenant(
    body: TenantCreate, conn: DbConn, principal: Operator
) -> TenantRead:
    async with conn.transaction():
        return await service.create(conn=conn, body=body)


@router.get("", response_model=TenantList, summary="List tenants (operator, DPO)")
async def list_tenants(conn: DbConn, principal: Staff) -> TenantList:
    return TenantList(items=await service.list_all(conn=conn))


@router.get(
    "/{tenant_id}", response_model=TenantRead,
    summary="Read a tenant (its Beheerders and participants, or staff)",
)
async def get_tenant(tenant_id: uuid.UUID, conn: DbConn, principal: CurrentPrincipal) -> TenantRead:
    check_tenant(principal, tenant_id)
    tenant = await service.get(conn=conn, tenant_id=tenant_id)
    if tenant is None:
        raise not_found("tenant")
    return tenant


@router.patch(
    "/{tenant_id}", response_model=TenantRead,
    summary="Change a tenant's name, contract state or special-data agreement (operator)",
)
async def update_tenant(
    tenant_id: uuid.UUID, body: TenantUpdate, conn: DbConn, principal: Operator
) -> TenantRead:
    async with conn.transaction():
        tenant = await service.update(conn=conn, tenant_id=tenant_id, body=body)
    if tenant is None:
        raise not_found("tenant")
    return tenant
