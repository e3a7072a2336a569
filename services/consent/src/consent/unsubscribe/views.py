"""One-click unsubscribe: the public link (no sign-in) and minting it for a message."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from consent.settings import SettingsDep
from consent.unsubscribe import service
from consent.unsubscribe.models import ALL_PURPOSES, Unsubscribed, UnsubscribeLink, UnsubscribeOffer
from privacy_kit.app import DbConn
from privacy_kit.auth import SERVICE_ROLE, STAFF, Principal, require_roles
from privacy_kit.errors import ApiError

router = APIRouter(prefix="/v1", tags=["unsubscribe"])
Token = Annotated[str, Path(max_length=2000, description="The signed token from the link.")]
StaffOrService = Annotated[Principal, Depends(require_roles(*STAFF, SERVICE_ROLE))]
MAX_BODY = 16 * 1024


_LINK_ERRORS: dict[int | str, dict[str, str]] = {
    400: {"description": "The link is damaged or was cut off"},
    410: {"description": "The link has expired"},
}


@router.get("/unsubscribe/{token}", summary="What this unsubscribe link would do (changes nothing)",
            responses=_LINK_ERRORS)
async def get_offer(token: Token, conn: DbConn, settings: SettingsDep) -> UnsubscribeOffer:
    return await service.offer(conn=conn, settings=settings, token=token)


@router.post(
    "/unsubscribe/{token}", summary="One-click unsubscribe (RFC 8058), no sign-in",
    description="The body must be `List-Unsubscribe=One-Click` (form-urlencoded or multipart), "
    "as mail clients send it. Withdraws the link's purposes in the consent ledger (method "
    "`unsubscribe-link`). Link expired: 410; link damaged: 400.",
    responses=_LINK_ERRORS,
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {
            "List-Unsubscribe": {"type": "string", "const": "One-Click"}}},
            "example": {"List-Unsubscribe": "One-Click"}}}}},
)
async def one_click(
    token: Token, request: Request, conn: DbConn, settings: SettingsDep
) -> Unsubscribed:
    body = await request.body()
    if len(body) > MAX_BODY or not service.is_one_click(
            request.headers.get("content-type", ""), body):
        raise ApiError(422, "not_one_click",
                       f"POST the body '{service.ONE_CLICK}' (RFC 8058) to unsubscribe.")
    async with conn.transaction():
        return await service.unsubscribe(conn=conn, settings=settings, token=token)


@router.get("/subjects/{subject_id}/unsubscribe-link",
            summary="An unsubscribe link and its List-Unsubscribe headers for one message "
                    "(dpo, operator, services)")
async def mint(
    subject_id: str, conn: DbConn, settings: SettingsDep, _: StaffOrService,
    purpose: Annotated[str, Query(max_length=48, description="A direct-marketing purpose, or "
                                  f"'{ALL_PURPOSES}'.")],
) -> UnsubscribeLink:
    return await service.mint_link(conn=conn, settings=settings, subject_id=subject_id,
                                   purpose=purpose)
