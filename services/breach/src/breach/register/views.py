"""The register's routes (dpo, operator): register, follow up, assess, move, note, list."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request

from breach import timeline
from breach.clock import Now, refuse_future
from breach.i18n import tr
from breach.lookup import DirectoryUnavailable, Located, SubjectDirectory
from breach.register import service
from breach.register.models import (
    REGISTER_EXAMPLE,
    AffectedSubject,
    AssessmentCreate,
    BreachCreate,
    BreachRead,
    BreachSummary,
    Deadline,
    FactsUpdate,
    NoteCreate,
    State,
    SubjectsAdd,
    SubjectsAdded,
    TimelineEntry,
    Transition,
)
from breach.settings import Settings, SettingsDep
from breach.timeline import Actor
from privacy_kit import guards
from privacy_kit.access_log import AccessLogged, ReadLog
from privacy_kit.auth import Staff
from privacy_kit.deps import DbConn
from privacy_kit.errors import ApiError
from privacy_kit.paging import Page, Paging, page_of
from privacy_kit.sorting import SortOrder

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/breaches", tags=["breaches"])


async def directory_of(request: Request) -> SubjectDirectory:
    # async: a plain def dependency takes a thread-pool hop on every request
    directory: SubjectDirectory = request.app.state.directory
    return directory


Directory = Annotated[SubjectDirectory, Depends(directory_of)]


async def locate(directory: SubjectDirectory, subject_ids: list[str],
                 tenant_ids: list[str]) -> Located | None:
    """training-records' answer, or None (subjects kept pending) when it cannot be reached."""
    if not subject_ids and not tenant_ids:
        return Located()
    try:
        located = await directory.locate(list(dict.fromkeys(subject_ids)),
                                         list(dict.fromkeys(tenant_ids)))
    except DirectoryUnavailable as exc:
        log.warning("subjects kept pending: %s", exc)
        return None
    if located.unknown_tenants:
        raise ApiError(422, "unknown_tenant",
                       tr("No client organisation has the id(s): {ids}",
                          ids=", ".join(located.unknown_tenants[:10])),
                       details=[{"field": "tenant_ids", "message": t} for t in located.unknown_tenants])
    return located


async def _read(conn: DbConn, breach_id: uuid.UUID, now: datetime, settings: Settings) -> BreachRead:
    found = await service.get(conn=conn, breach_id=breach_id, now=now, settings=settings)
    if found is None:
        raise service.not_found()
    return found


@router.post(
    "", status_code=201, response_model=BreachRead,
    summary="Register a breach (O26); opens a 24 h notice per affected tenant (O27)",
    description=(
        "Times need an offset (`Z` or `+01:00`); a time without one, or in the future, is "
        "refused with 422. Affected tenants are derived from `affected_subject_ids` by asking "
        "training-records; ids no store knows are counted as `unknown_subjects`. "
        "`affected_tenant_ids` names tenants whose participants may all be affected: their "
        "notices open at once. **Free-text facts must not name or identify people**: they are "
        "kept as the legal record and survive every erasure."),
)
async def register_breach(
    body: Annotated[BreachCreate, Body(openapi_examples={"processor": {
        "summary": "A results export sent to the wrong client", "value": REGISTER_EXAMPLE}})],
    principal: Staff, conn: DbConn, settings: SettingsDep, now: Now,
    directory: Directory,
) -> BreachRead:
    refuse_future(now, settings.future_tolerance_s, occurred_from=body.occurred_from,
                  occurred_until=body.occurred_until, discovered_at=body.discovered_at,
                  aware_at=body.aware_at)
    screen_facts(body.model_dump(include=PROSE | {"reporter"}, exclude_none=True))
    located = await locate(directory, body.affected_subject_ids, body.affected_tenant_ids)
    async with conn.transaction():
        breach_id = await service.register(conn=conn, body=body, located=located,
                                           actor=Actor.of(principal), now=now, settings=settings)
    return await _read(conn, breach_id, now, settings)


@router.get("", summary="The register, newest first; filter by state or overdue")
async def list_breaches(
    principal: Staff, conn: DbConn, paging: Paging, now: Now,
    sort: Annotated[SortOrder, Depends(service.ORDERING)],
    log: Annotated[ReadLog, AccessLogged("breach register")],
    state: State | None = None,
    overdue: Annotated[bool | None, Query(description="Only breaches with an overdue notice")] = None,
) -> Page[BreachSummary]:
    rows = await service.list_breaches(conn=conn, now=now, state=state, overdue=overdue,
                                       page=paging, sort=sort)
    await log.record(conn, what="breach register (list)")
    return page_of(rows, paging, key=sort.cursor_key)


@router.get("/deadlines", summary="Notices due within the warning window (4 h) and overdue ones")
async def list_deadlines(
    principal: Staff, conn: DbConn, paging: Paging, now: Now, settings: SettingsDep,
) -> Page[Deadline]:
    rows = await service.deadlines(conn=conn, now=now,
                                   within=timedelta(hours=settings.due_soon_hours),
                                   after=paging.cursor, limit=paging.limit + 1)
    return page_of(rows, paging, key=service.deadline_key)


@router.get("/{breach_id}", response_model=BreachRead, summary="One breach: its current view")
async def get_breach(
    breach_id: uuid.UUID, principal: Staff, conn: DbConn, now: Now, settings: SettingsDep,
    log: Annotated[ReadLog, AccessLogged("breach register")],
) -> BreachRead:
    breach = await _read(conn, breach_id, now, settings)
    await log.record(conn, what=f"breach {breach_id}")
    return breach


@router.get("/{breach_id}/timeline", summary="Every change, assessment, notice and note, oldest first")
async def get_timeline(
    breach_id: uuid.UUID, principal: Staff, conn: DbConn, paging: Paging,
    log: Annotated[ReadLog, AccessLogged("breach register")],
) -> Page[TimelineEntry]:
    if not await conn.fetchval("SELECT true FROM breach WHERE id = $1", breach_id):
        raise service.not_found()
    after = int(paging.cursor[0]) if paging.cursor else None
    rows = await timeline.entries(conn, breach_id, after=after, limit=paging.limit + 1)
    items = [TimelineEntry.model_validate({**dict(r), "data": timeline.from_jsonb(r["data"])})
             for r in rows]
    await log.record(conn, what=f"breach {breach_id} timeline")
    return page_of(items, paging, key=lambda e: [e.id])


@router.post("/{breach_id}/follow-ups", response_model=BreachRead,
             summary="A follow-up report: facts that changed or became known (Art. 33(4))")
async def follow_up(
    breach_id: uuid.UUID, body: FactsUpdate, principal: Staff, conn: DbConn, now: Now,
    settings: SettingsDep,
) -> BreachRead:
    refuse_future(now, settings.future_tolerance_s, occurred_from=body.occurred_from,
                  occurred_until=body.occurred_until, discovered_at=body.discovered_at,
                  aware_at=body.aware_at)
    screen_facts(body.model_dump(include=PROSE | {"note"}, exclude_none=True))
    async with conn.transaction():
        await service.follow_up(conn=conn, breach_id=breach_id, body=body,
                                actor=Actor.of(principal), now=now, settings=settings)
    return await _read(conn, breach_id, now, settings)


@router.post("/{breach_id}/assessments", response_model=BreachRead,
             summary="Assess the risk with reasoning: no risk, risk (the AP is told), high risk")
async def assess(
    breach_id: uuid.UUID, body: AssessmentCreate, principal: Staff, conn: DbConn, now: Now,
    settings: SettingsDep,
) -> BreachRead:
    async with conn.transaction():
        await service.assess(conn=conn, breach_id=breach_id, body=body, actor=Actor.of(principal),
                             now=now, settings=settings)
    return await _read(conn, breach_id, now, settings)


@router.post("/{breach_id}/transitions", response_model=BreachRead,
             summary="Move to another state (reported, investigating, contained, notified, closed)")
async def move(
    breach_id: uuid.UUID, body: Transition, principal: Staff, conn: DbConn, now: Now,
    settings: SettingsDep,
) -> BreachRead:
    async with conn.transaction():
        await service.transition(conn=conn, breach_id=breach_id, body=body,
                                 actor=Actor.of(principal), now=now, settings=settings)
    return await _read(conn, breach_id, now, settings)


@router.post("/{breach_id}/notes", status_code=201, response_model=TimelineEntry,
             summary="Add a note to the timeline (must not name people)")
async def add_note(
    breach_id: uuid.UUID, body: NoteCreate, principal: Staff, conn: DbConn, now: Now,
) -> TimelineEntry:
    screen_facts({"text": body.text})
    async with conn.transaction():
        entry_id = await service.add_note(conn=conn, breach_id=breach_id, text=body.text,
                                          actor=Actor.of(principal), now=now)
    return TimelineEntry(id=entry_id, kind="note", actor=principal.sub,
                         actor_roles=sorted(principal.roles), at=now, data={"text": body.text})


# The prose of a breach report: kept as the legal record, it survives every erasure.
PROSE = {"title", "description", "cause", "unintelligible_how", "consequences",
         "measures_taken", "measures_proposed"}


def screen_facts(value: dict[str, Any]) -> None:
    """O5 in the breach register: the free text carries no BSN and no special-category data
    (the register is the platform's, so no tenant's agreement applies). The categories of data
    concerned belong in `data_categories`, which is not screened."""
    try:
        guards.check(value, allowed=False)
    except ApiError as refused:
        raise ApiError(422, refused.code, tr(
            "The field {fields} of the breach report reads as a BSN or special-category data "
            "about a person. The report is kept after every erasure, so it must not identify "
            "anyone: name the kinds of data concerned in 'data_categories' (e.g. health) and "
            "describe people only by category and number.",
            fields=", ".join(f"'{d['field']}'" for d in refused.details or [])),
            details=refused.details) from refused


@router.post("/{breach_id}/subjects", response_model=SubjectsAdded,
             summary="Add affected subjects or tenants found later; counts and notices follow")
async def add_subjects(
    breach_id: uuid.UUID, body: SubjectsAdd, principal: Staff, conn: DbConn, now: Now,
    settings: SettingsDep, directory: Directory,
) -> SubjectsAdded:
    if not await conn.fetchval("SELECT true FROM breach WHERE id = $1", breach_id):
        raise service.not_found()
    located = await locate(directory, body.subject_ids, body.tenant_ids)
    async with conn.transaction():
        return await service.add_subjects(
            conn=conn, breach_id=breach_id, subject_ids=body.subject_ids,
            tenant_ids=body.tenant_ids, located=located, actor=Actor.of(principal), now=now,
            settings=settings)


@router.get("/{breach_id}/subjects", summary="The affected subject ids (staff)")
async def list_subjects(
    breach_id: uuid.UUID, principal: Staff, conn: DbConn, paging: Paging,
    log: Annotated[ReadLog, AccessLogged("breach register: who is affected")],
    lookup: Annotated[str | None, Query(pattern="^(found|unknown|pending)$")] = None,
    tenant_id: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[AffectedSubject]:
    after = paging.cursor[0] if paging.cursor else None
    rows = await conn.fetch(
        """SELECT subject_id, tenant_id, lookup, added_at FROM breach_affected_subject
           WHERE breach_id = $1 AND ($2::text IS NULL OR lookup = $2)
             AND ($3::text IS NULL OR tenant_id = $3) AND ($4::text IS NULL OR subject_id > $4)
           ORDER BY subject_id LIMIT $5""",
        breach_id, lookup, tenant_id, after, paging.limit + 1,
    )
    items = [AffectedSubject.model_validate(dict(r)) for r in rows]
    await log.record_rows(conn, [(r["subject_id"], r["tenant_id"]) for r in rows[:paging.limit]],
                          what=f"affected by breach {breach_id}")
    return page_of(items, paging, key=lambda s: [s.subject_id])
