"""Cookie choices of anonymous visitors: no token needed, keyed by the cookie id (O10)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from consent.cookies import ids, service
from consent.cookies.models import CookieChoiceChange, CookieChoiceRead, CookieLinkResult
from consent.ledger.service import acting_as
from consent.ledger.views import gpc_signal
from consent.settings import Settings
from privacy_kit.app import DbConn
from privacy_kit.auth import CurrentPrincipal
from privacy_kit.errors import ApiError

router = APIRouter(prefix="/v1/cookie-choices", tags=["cookie choices"])


def _secret(request: Request) -> str:
    settings: Settings = request.app.state.settings
    return settings.cookie_id_secret


async def issued_cookie_id(
    request: Request,
    cookie_id: Annotated[str, Path(max_length=100, description="The cookie id from the first save.")],
) -> str:
    """Only ids this service gave out: anything else is refused, never created (O10)."""
    if not ids.is_issued(_secret(request), cookie_id):
        raise ApiError(404, "unknown_cookie_id",
                       "This cookie id was not issued by us. Save the first choices with "
                       "POST /v1/cookie-choices and keep the cookie_id it returns.")
    return cookie_id


CookieId = Annotated[str, Depends(issued_cookie_id)]


@router.post("", status_code=201, summary="First visit: store choices under a new cookie id",
             description="Returns a new `cookie_id`, signed by this service: keep it in a "
             "first-party cookie and use it for every later read or change.")
async def create_choice(body: CookieChoiceChange, request: Request, conn: DbConn) -> CookieChoiceRead:
    cookie_id = ids.issue(_secret(request))
    async with conn.transaction():
        return await service.choose(conn=conn, cookie_id=cookie_id, change=body,
                                    gpc=gpc_signal(request))


@router.get("/{cookie_id}", summary="The visitor's choices and Consent Mode v2 state")
async def get_choice(cookie_id: CookieId, request: Request, conn: DbConn) -> CookieChoiceRead:
    return await service.latest(conn=conn, cookie_id=cookie_id, gpc=gpc_signal(request))


@router.put("/{cookie_id}", summary="Change the choices at any time",
            description="Only for a `cookie_id` this service issued; any other id is 404.")
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
