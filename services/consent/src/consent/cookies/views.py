"""Cookie choices of anonymous visitors: no token needed, keyed by the cookie id (O10)."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Path, Request

from consent.cookies import service
from consent.cookies.models import COOKIE_ID, CookieChoiceChange, CookieChoiceRead, CookieLinkResult
from consent.ledger.service import acting_as
from consent.ledger.views import gpc_signal
from privacy_kit.app import DbConn
from privacy_kit.auth import CurrentPrincipal

router = APIRouter(prefix="/v1/cookie-choices", tags=["cookie choices"])
CookieId = Annotated[str, Path(pattern=COOKIE_ID, description="The visitor's cookie id.")]


@router.post("", status_code=201, summary="First visit: store choices under a new cookie id")
async def create_choice(body: CookieChoiceChange, request: Request, conn: DbConn) -> CookieChoiceRead:
    cookie_id = secrets.token_urlsafe(24)
    async with conn.transaction():
        return await service.choose(conn=conn, cookie_id=cookie_id, change=body,
                                    gpc=gpc_signal(request))


@router.get("/{cookie_id}", summary="The visitor's choices and Consent Mode v2 state")
async def get_choice(cookie_id: CookieId, request: Request, conn: DbConn) -> CookieChoiceRead:
    return await service.latest(conn=conn, cookie_id=cookie_id, gpc=gpc_signal(request))


@router.put("/{cookie_id}", summary="Change the choices at any time")
async def put_choice(
    cookie_id: CookieId, body: CookieChoiceChange, request: Request, conn: DbConn
) -> CookieChoiceRead:
    async with conn.transaction():
        return await service.choose(conn=conn, cookie_id=cookie_id, change=body,
                                    gpc=gpc_signal(request))


@router.post("/{cookie_id}/link", summary="After sign-in: link the choices to the person")
async def link_choice(
    cookie_id: CookieId, conn: DbConn, principal: CurrentPrincipal
) -> CookieLinkResult:
    actor = acting_as(principal, principal.sub)
    async with conn.transaction():
        linked, recorded = await service.link(
            conn=conn, cookie_id=cookie_id, subject_id=principal.sub, actor=actor,
            tenant_id=principal.tenant,
        )
    return CookieLinkResult(cookie_id=cookie_id, subject_id=principal.sub,
                            linked_choices=linked, recorded_purposes=recorded)
