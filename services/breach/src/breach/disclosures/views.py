"""Disclosure routes: staff record them; a tenant's Beheerders see theirs unless withheld (O30)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from breach.clock import Now, refuse_future
from breach.disclosures import service
from breach.disclosures.models import Disclosure, DisclosureCreate
from breach.i18n import tr
from breach.settings import SettingsDep
from breach.timeline import Actor
from privacy_kit.auth import CurrentPrincipal, Staff, forbidden
from privacy_kit.deps import DbConn
from privacy_kit.paging import Page, Paging, page_of
from privacy_kit.sorting import SortOrder

router = APIRouter(prefix="/v1/authority-disclosures", tags=["authority disclosures"])


def _tenant_view(principal: CurrentPrincipal) -> str | None:
    """None for staff (they see everything); the Beheerder's own tenant otherwise."""
    if principal.is_staff:
        return None
    if not principal.has("beheerder") or not principal.tenant:
        raise forbidden(tr("Disclosures are shown to the organisation's Beheerders and to staff."))
    return principal.tenant


@router.post("", status_code=201, response_model=Disclosure,
             summary="Record a disclosure of a tenant's data to an authority (O30)")
async def record(
    body: DisclosureCreate, principal: Staff, conn: DbConn, now: Now, settings: SettingsDep,
) -> Disclosure:
    refuse_future(now, settings.future_tolerance_s, disclosed_at=body.disclosed_at,
                  tenant_informed_at=body.tenant_informed_at)
    async with conn.transaction():
        disclosure_id = await service.record(conn=conn, body=body, actor=Actor.of(principal),
                                             now=now, settings=settings)
    found = await service.get(conn, disclosure_id)
    assert found is not None
    return found


@router.get("", summary="Disclosures: staff see all; a Beheerder their tenant's, unless withheld")
async def list_disclosures(
    principal: CurrentPrincipal, conn: DbConn, paging: Paging,
    sort: Annotated[SortOrder, Depends(service.ORDERING)],
    tenant_id: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[Disclosure]:
    own = _tenant_view(principal)
    if own is not None:
        if tenant_id not in (None, own):
            raise forbidden(tr("This belongs to another organisation."))
        tenant_id = own
    rows = await service.list_disclosures(conn, tenant_id=tenant_id, tenant_view=own is not None,
                                          page=paging, sort=sort)
    return page_of(rows, paging, key=sort.cursor_key)


@router.get("/{disclosure_id}", response_model=Disclosure, summary="One disclosure")
async def get_disclosure(
    disclosure_id: uuid.UUID, principal: CurrentPrincipal, conn: DbConn,
) -> Disclosure:
    found = await service.get(conn, disclosure_id, _tenant_view(principal))
    if found is None:
        raise service.not_found()
    return found


@router.post("/{disclosure_id}/secrecy-lifted", response_model=Disclosure,
             summary="The legal ground no longer forbids it: the tenant's Beheerders see it now")
async def lift(
    disclosure_id: uuid.UUID, principal: Staff, conn: DbConn, now: Now,
) -> Disclosure:
    async with conn.transaction():
        await service.lift_secrecy(conn=conn, disclosure_id=disclosure_id, now=now)
    found = await service.get(conn, disclosure_id)
    assert found is not None
    return found
