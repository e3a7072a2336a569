"""Erasure replays (O25): after a store's database is restored, its erasures are applied again."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import APIRouter

from privacy_kit.app import DbConn
from privacy_kit.auth import Staff
from privacy_kit.errors import ApiError
from privacy_kit.paging import Page, Paging
from retention.i18n import tr
from retention.replay import service
from retention.replay.models import ReplayCreate, ReplayRead, ReplaySummary
from retention.settings import SettingsDep

router = APIRouter(prefix="/v1/erasure-replays", tags=["erasure"])


@router.post("", status_code=202, response_model=ReplayRead,
             summary="Apply every erasure since a time again to one restored store (O25)",
             description="The same as `python -m retention replay --store NAME --since TIME`.")
async def create_replay(body: ReplayCreate, staff: Staff, conn: DbConn,
                        settings: SettingsDep) -> ReplayRead:
    try:
        async with conn.transaction():
            replay_id = await service.start(
                conn=conn, store=body.store, since=body.since, requested_by=staff.sub,
                cipher=settings.replay_cipher, signing_key=settings.signing_key,
                deadline=timedelta(seconds=settings.erasure_deadline_s),
                source=settings.service_name)
    except service.UnknownStore as exc:
        raise ApiError(422, "unknown_store",
                       tr("No store is called {store}; known stores: {known}.",
                          store=repr(body.store),
                          known=", ".join(exc.known) or tr("none yet"))) from exc
    replay = await service.get(conn=conn, replay_id=replay_id)
    assert replay is not None
    return replay


@router.get("", summary="Erasure replays, newest first")
async def list_replays(staff: Staff, conn: DbConn, paging: Paging) -> Page[ReplaySummary]:
    return await service.list_page(conn=conn, paging=paging)


@router.get("/{replay_id}", summary="One replay: each erasure sent again and the store's answer")
async def get_replay(replay_id: uuid.UUID, staff: Staff, conn: DbConn) -> ReplayRead:
    replay = await service.get(conn=conn, replay_id=replay_id)
    if replay is None:
        raise ApiError(404, "not_found", tr("There is no erasure replay with this id."))
    return replay
