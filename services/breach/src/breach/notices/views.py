"""Notice routes: a Beheerder's own tenant's notices (fixed route), people's own notices, staff."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from breach.clock import Now, refuse_future
from breach.i18n import tr
from breach.lookup import DirectoryUnavailable
from breach.notices import service
from breach.notices.models import (
    Delivery,
    MyNotice,
    PeopleNoticeCreate,
    PeopleNoticeRecord,
    PeopleNoticeResult,
    TenantNotice,
)
from breach.register.service import not_found as breach_not_found
from breach.register.views import Directory
from breach.settings import Settings, SettingsDep
from breach.timeline import Actor
from privacy_kit.access_log import AccessLogged, ReadLog
from privacy_kit.auth import CurrentPrincipal, Principal, Staff, forbidden
from privacy_kit.deps import DbConn
from privacy_kit.errors import ApiError
from privacy_kit.paging import Page, Paging, page_of
from privacy_kit.sorting import SortOrder

router = APIRouter(prefix="/v1/breach-notices", tags=["breach notices"])
people_router = APIRouter(prefix="/v1/breaches", tags=["breaches"])


def _beheerder_tenant(principal: Principal) -> str:
    if not principal.has("beheerder") or not principal.tenant:
        raise forbidden(tr("Breach notices are for a Beheerder of the organisation, or "
                           "platform staff; your own notices are at /v1/breach-notices/mine."))
    return principal.tenant


async def _reach(conn: DbConn, notice_id: uuid.UUID, principal: Principal) -> None:
    """Staff reach every notice; a Beheerder only their own tenant's (others look absent)."""
    tenant = await service.tenant_of(conn, notice_id)
    if principal.is_staff:
        return
    if _beheerder_tenant(principal) != tenant:
        raise service.not_found()


async def _read(conn: DbConn, notice_id: uuid.UUID, now: datetime, settings: Settings) -> TenantNotice:
    found = await service.get(conn=conn, notice_id=notice_id, now=now, settings=settings)
    if found is None:
        raise service.not_found()
    return found


@router.get(
    "", summary="Breach notices: a Beheerder sees their own tenant's only (O27); staff see all",
)
async def list_notices(
    principal: CurrentPrincipal, conn: DbConn, paging: Paging, now: Now, settings: SettingsDep,
    sort: Annotated[SortOrder, Depends(service.ORDERING)],
    status: Literal["open", "notified"] | None = None,
    breach_id: uuid.UUID | None = None,
    tenant_id: Annotated[str | None, Query(max_length=200, description="Staff only")] = None,
) -> Page[TenantNotice]:
    if not principal.is_staff:
        own = _beheerder_tenant(principal)
        if tenant_id not in (None, own):
            raise forbidden(tr("This belongs to another organisation."))
        tenant_id = own
    rows = await service.list_notices(
        conn=conn, now=now, settings=settings, tenant_id=tenant_id, breach_id=breach_id,
        status=status, page=paging, sort=sort)
    return page_of(rows, paging, key=sort.cursor_key)


@router.get("/mine", summary="Breach notices sent to me (Art. 34): what I was told, and when")
async def my_notices(principal: CurrentPrincipal, conn: DbConn, paging: Paging) -> Page[MyNotice]:
    after = paging.cursor
    rows = await conn.fetch(
        """SELECT p.id, p.breach_id, p.channel, p.notified_at, m.title, m.body
           FROM breach_people_notice p LEFT JOIN message_outbox m ON m.id = p.message_id
           WHERE p.subject_id = $1
             AND ($2::timestamptz IS NULL OR (p.notified_at, p.id) < ($2, $3::uuid))
           ORDER BY p.notified_at DESC, p.id DESC LIMIT $4""",
        principal.sub, datetime.fromisoformat(after[0]) if after else None,
        after[1] if after else None, paging.limit + 1,
    )
    items = [MyNotice.model_validate(dict(r)) for r in rows]
    return page_of(items, paging, key=lambda n: [n.notified_at.isoformat(), str(n.id)])


@router.get("/{notice_id}", response_model=TenantNotice, summary="One notice")
async def get_notice(
    notice_id: uuid.UUID, principal: CurrentPrincipal, conn: DbConn, now: Now, settings: SettingsDep,
) -> TenantNotice:
    await _reach(conn, notice_id, principal)
    return await _read(conn, notice_id, now, settings)


@router.post("/{notice_id}/acknowledgement", response_model=TenantNotice,
             summary="A Beheerder acknowledges their organisation's notice (the time is kept)")
async def acknowledge(
    notice_id: uuid.UUID, principal: CurrentPrincipal, conn: DbConn, now: Now,
    settings: SettingsDep,
) -> TenantNotice:
    tenant = await service.tenant_of(conn, notice_id)
    if _beheerder_tenant(principal) != tenant:
        raise service.not_found()
    async with conn.transaction():
        await service.mark_notified(conn=conn, notice_id=notice_id, via="acknowledged", at=now,
                                    actor=Actor.of(principal), now=now, settings=settings,
                                    acknowledged=True)
    return await _read(conn, notice_id, now, settings)


@router.post("/{notice_id}/deliveries", response_model=TenantNotice,
             summary="Staff record that the notice reached the organisation another way")
async def deliver(
    notice_id: uuid.UUID, body: Delivery, principal: Staff, conn: DbConn, now: Now,
    settings: SettingsDep,
) -> TenantNotice:
    refuse_future(now, settings.future_tolerance_s, delivered_at=body.delivered_at)
    async with conn.transaction():
        await service.mark_notified(conn=conn, notice_id=notice_id, via=body.via,
                                    at=body.delivered_at, actor=Actor.of(principal), now=now,
                                    settings=settings, acknowledged=False, note=body.note)
    return await _read(conn, notice_id, now, settings)


@router.get("/{notice_id}/subjects",
            summary="The organisation's own affected people (ids), for its own notifications")
async def notice_subjects(
    notice_id: uuid.UUID, principal: CurrentPrincipal, conn: DbConn, paging: Paging,
    log: Annotated[ReadLog, AccessLogged("breach notice: the organisation's affected people")],
) -> Page[str]:
    await _reach(conn, notice_id, principal)
    after = paging.cursor[0] if paging.cursor else None
    rows = await conn.fetch(
        """SELECT a.subject_id, a.tenant_id FROM breach_tenant_notification n
           JOIN breach_affected_subject a ON a.breach_id = n.breach_id AND a.tenant_id = n.tenant_id
           WHERE n.id = $1 AND ($2::text IS NULL OR a.subject_id > $2)
           ORDER BY a.subject_id LIMIT $3""",
        notice_id, after, paging.limit + 1,
    )
    await log.record_rows(conn, [(r["subject_id"], r["tenant_id"]) for r in rows[:paging.limit]],
                          what=f"affected by the breach of notice {notice_id}")
    return page_of([r["subject_id"] for r in rows], paging, key=lambda s: [s])


@people_router.post(
    "/{breach_id}/people-notices", response_model=PeopleNoticeResult,
    summary="Tell the affected people (high risk, Art. 34) through the message outbox",
)
async def tell_people(
    breach_id: uuid.UUID, body: PeopleNoticeCreate, principal: Staff, conn: DbConn, now: Now,
    settings: SettingsDep, directory: Directory,
) -> PeopleNoticeResult:
    row = await conn.fetchrow("SELECT risk FROM breach WHERE id = $1", breach_id)
    if row is None:
        raise breach_not_found()
    service.require_high_risk(row)
    todo, told, not_affected = await service.people_to_tell(conn, breach_id, body.subject_ids)
    try:
        located = await directory.locate(todo, contacts=True)
    except DirectoryUnavailable as exc:
        raise ApiError(503, "directory_unavailable",
                       tr("training-records cannot be reached for the addresses; try "
                          "again.")) from exc
    async with conn.transaction():
        return await service.tell_people(
            conn=conn, breach_id=breach_id, subject_ids=todo, located=located, already=told,
            not_affected=not_affected, advice=body.message, actor=Actor.of(principal), now=now,
            settings=settings)


@people_router.get("/{breach_id}/people-notices", summary="Who was told, and when")
async def people_told(
    breach_id: uuid.UUID, principal: Staff, conn: DbConn, paging: Paging,
) -> Page[PeopleNoticeRecord]:
    if not await conn.fetchval("SELECT true FROM breach WHERE id = $1", breach_id):
        raise breach_not_found()
    after = paging.cursor[0] if paging.cursor else None
    rows = await conn.fetch(
        """SELECT subject_id, tenant_id, channel, notified_at, message_id FROM breach_people_notice
           WHERE breach_id = $1 AND ($2::text IS NULL OR subject_id > $2)
           ORDER BY subject_id LIMIT $3""",
        breach_id, after, paging.limit + 1,
    )
    items = [PeopleNoticeRecord.model_validate(dict(r)) for r in rows]
    return page_of(items, paging, key=lambda p: [p.subject_id])
