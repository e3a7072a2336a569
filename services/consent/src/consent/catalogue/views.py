"""Purposes and policy versions: anyone may read them, staff publish them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from consent.catalogue import service
from consent.catalogue.models import (
    PolicyCreate,
    PolicyRead,
    PurposeCreate,
    PurposeRead,
    PurposeUpdate,
)
from privacy_kit.app import DbConn
from privacy_kit.auth import Staff
from privacy_kit.i18n import RequestLanguage
from privacy_kit.paging import Page, Paging, page_of
from privacy_kit.preconditions import IfMatch
from privacy_kit.sorting import SortOrder

router = APIRouter(prefix="/v1", tags=["purposes and policies"])
_LANGUAGE_NOTE = ("Names and descriptions in the language of `Accept-Language` (`nl` or `en`); "
                  "`translations` has both.")


def _localized(response: Response, language: str, etag: str | None = None) -> None:
    response.headers["Content-Language"] = language
    response.headers["Vary"] = "Accept-Language"
    if etag is not None:
        response.headers["ETag"] = etag


@router.get("/purposes", summary="The purposes catalogue (public)", description=_LANGUAGE_NOTE)
async def list_purposes(
    conn: DbConn, page: Paging, language: RequestLanguage, response: Response,
    sort: Annotated[SortOrder, Depends(service.PURPOSE_ORDERING)],
    include_retired: Annotated[bool, Query(description="Also retired purposes")] = False,
) -> Page[PurposeRead]:
    rows = await service.list_purposes(conn=conn, include_retired=include_retired, page=page,
                                       sort=sort, language=language)
    _localized(response, language)
    return page_of(rows, page, sort.cursor_key)


@router.get("/purposes/{purpose_id}", summary="One purpose (public)", description=_LANGUAGE_NOTE)
async def get_purpose(
    purpose_id: str, conn: DbConn, language: RequestLanguage, response: Response
) -> PurposeRead:
    purpose = await service.get_purpose(conn=conn, purpose_id=purpose_id, language=language)
    _localized(response, language, service.purpose_etag(purpose))
    return purpose


@router.post("/purposes", status_code=201, summary="Add a purpose (dpo, operator)")
async def create_purpose(
    body: PurposeCreate, conn: DbConn, staff: Staff, language: RequestLanguage,
    response: Response,
) -> PurposeRead:
    async with conn.transaction():
        purpose = await service.create_purpose(conn=conn, purpose=body, actor=staff.sub,
                                               language=language)
    _localized(response, language, service.purpose_etag(purpose))
    response.headers["Location"] = f"/v1/purposes/{purpose.id}"
    return purpose


@router.patch(
    "/purposes/{purpose_id}", summary="Reword a purpose, in Dutch or English (dpo, operator)",
    description="Changes the wording only. Send the `ETag` you read as `If-Match`: a change "
    "made in between is not overwritten but refused with 412. A change of substance needs a "
    "policy version naming the purpose in `materially_changed_purposes` (O14).",
)
async def update_purpose(
    purpose_id: str, body: PurposeUpdate, conn: DbConn, staff: Staff, language: RequestLanguage,
    response: Response, if_match: IfMatch = None,
) -> PurposeRead:
    async with conn.transaction():
        purpose = await service.update_purpose(conn=conn, purpose_id=purpose_id, change=body,
                                               actor=staff.sub, if_match=if_match,
                                               language=language)
    _localized(response, language, service.purpose_etag(purpose))
    return purpose


@router.post("/purposes/{purpose_id}/retire", summary="Retire a purpose; its history stays")
async def retire_purpose(
    purpose_id: str, conn: DbConn, staff: Staff, language: RequestLanguage, response: Response,
) -> PurposeRead:
    async with conn.transaction():
        purpose = await service.retire_purpose(conn=conn, purpose_id=purpose_id,
                                               actor=staff.sub, language=language)
    _localized(response, language, service.purpose_etag(purpose))
    return purpose


@router.get("/policies", summary="Policy versions with changelog, newest first (public)")
async def list_policies(
    conn: DbConn, page: Paging, sort: Annotated[SortOrder, Depends(service.POLICY_ORDERING)],
) -> Page[PolicyRead]:
    rows, current = await service.list_policies(conn=conn, page=page, sort=sort)
    listed = page_of(rows, page, sort.cursor_key)
    return Page(items=[service.policy_read(r, current) for r in listed.items],
                next_cursor=listed.next_cursor)


@router.get("/policies/{version}", summary="One policy version (public)")
async def get_policy(version: str, conn: DbConn) -> PolicyRead:
    return await service.get_policy(conn=conn, version=version)


@router.post("/policies", status_code=201, summary="Publish a policy version (dpo, operator)")
async def publish_policy(body: PolicyCreate, conn: DbConn, staff: Staff) -> PolicyRead:
    async with conn.transaction():
        return await service.publish_policy(conn=conn, policy=body, actor=staff.sub)
