from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from privacy_kit.app import DbConn
from privacy_kit.auth import (
    CurrentPrincipal,
    Operator,
    ServiceCaller,
    Staff,
    check_tenant,
    check_tenant_manager,
)
from privacy_kit.paging import Page, Paging, page_of
from privacy_kit.preconditions import IfMatch
from privacy_kit.sorting import SortOrder
from training_records.access import not_found
from training_records.tenants import service
from training_records.tenants.models import (
    AgreementCreate,
    AgreementRead,
    AgreementState,
    ContractState,
    TenantCreate,
    TenantRead,
    TenantUpdate,
)

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
    summary="Change a tenant's name or contract state (operator)",
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


@router.post(
    "/{tenant_id}/special-category-agreements", status_code=201, response_model=AgreementRead,
    summary="Record the tenant's separate written agreement for special-category data and "
            "BSNs, or its end (dpo, operator) (O5)",
    description="Each record names the date of the signed document, where it is kept, and who "
    "entered it; the history is kept, the latest record says whether an agreement is in force. "
    "Other services learn it from `GET /internal/tenants/{id}/special-category-agreement`.",
    responses={403: {"description": "Not platform staff"}, 404: {"description": "No such "
               "tenant"}, 409: {"description": "Ending an agreement that is not in force"}},
)
async def record_agreement(
    tenant_id: uuid.UUID, body: AgreementCreate, conn: DbConn, principal: Staff,
) -> AgreementRead:
    async with conn.transaction():
        return await service.record_agreement(conn=conn, tenant_id=tenant_id, body=body,
                                               actor=principal.sub)


@router.get(
    "/{tenant_id}/special-category-agreements", response_model=Page[AgreementRead],
    summary="The tenant's agreement history, oldest first (its Beheerders, or staff) (O5)",
)
async def agreement_history(
    tenant_id: uuid.UUID, conn: DbConn, principal: CurrentPrincipal, page: Paging,
    sort: Annotated[SortOrder, Depends(service.AGREEMENT_ORDERING)],
) -> Page[AgreementRead]:
    check_tenant_manager(principal, tenant_id)
    rows = await service.agreement_history(conn=conn, tenant_id=tenant_id, page=page, sort=sort)
    return page_of(rows, page, sort.cursor_key)


internal_router = APIRouter(prefix="/internal/tenants/{tenant_id}", tags=["internal"],
                            include_in_schema=False)


@internal_router.get("/special-category-agreement",
                     summary="Whether the tenant has the O5 agreement in force (service token)")
async def agreement_state(
    tenant_id: uuid.UUID, conn: DbConn, _: ServiceCaller
) -> AgreementState:
    if await service.allows_special_data(conn=conn, tenant_id=tenant_id) is None:
        raise not_found("tenant")
    agreement = await service.agreement_in_force(conn=conn, tenant_id=tenant_id)
    return AgreementState(tenant_id=tenant_id, in_force=agreement is not None,
                          agreement_id=agreement)
