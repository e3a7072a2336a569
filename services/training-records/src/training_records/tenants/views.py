from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from privacy_kit.app import DbConn
from privacy_kit.auth import CurrentPrincipal, Operator, Staff, check_tenant
from privacy_kit.paging import Page, Paging, page_of
from privacy_kit.preconditions import IfMatch
from privacy_kit.sorting import SortOrder
from training_records.access import not_found
from training_records.tenants import service
from training_records.tenants.models import ContractState, TenantCreate, TenantRead, TenantUpdate

router = APIRouter(prefix="/v1/tenants", tags=["tenants"])


@router.post(
    "", status_code=201, response_model=TenantRead, summary="Create a tenant (operator)",
    responses={403: {"description": "Not an operator"}},
)
async def create_tenant(
    body: TenantCreate, conn: DbConn, response: Response, principal: Operator
) -> TenantRead:
    async with conn.transaction():
        tenant = await service.create(conn=conn, body=body)
    response.headers["ETag"] = service.etag(tenant)
    response.headers["Location"] = f"/v1/tenants/{tenant.id}"
    return tenant


@router.get("", response_model=Page[TenantRead], summary="List tenants (operator, DPO)")
async def list_tenants(
    conn: DbConn, principal: Staff, page: Paging, sort: Annotated[SortOrder, Depends(service.ORDERING)],
    contract_state: Annotated[ContractState | None, Query(description="Only tenants in this "
                                                          "contract state")] = None,
) -> Page[TenantRead]:
    rows = await service.list_page(conn=conn, page=page, sort=sort, contract_state=contract_state)
    return page_of(rows, page, sort.cursor_key)


@router.get(
    "/{tenant_id}", response_model=TenantRead,
    summary="Read a tenant (its Beheerders and participants, or staff)",
)
async def get_tenant(
    tenant_id: uuid.UUID, conn: DbConn, response: Response, principal: CurrentPrincipal
) -> TenantRead:
    check_tenant(principal, tenant_id)
    tenant = await service.get(conn=conn, tenant_id=tenant_id)
    if tenant is None:
        raise not_found("tenant")
    response.headers["ETag"] = service.etag(tenant)
    return tenant


@router.patch(
    "/{tenant_id}", response_model=TenantRead,
    summary="Change a tenant's name, contract state or special-data agreement (operator)",
    description="Send the `ETag` of the version you read as `If-Match`: if someone changed the "
    "tenant since, the update is refused with 412 instead of overwriting their change.",
)
async def update_tenant(
    tenant_id: uuid.UUID, body: TenantUpdate, conn: DbConn, response: Response,
    principal: Operator, if_match: IfMatch = None,
) -> TenantRead:
    async with conn.transaction():
        tenant = await service.update(conn=conn, tenant_id=tenant_id, body=body,
                                      if_match=if_match)
    if tenant is None:
        raise not_found("tenant")
    response.headers["ETag"] = service.etag(tenant)
    return tenant
