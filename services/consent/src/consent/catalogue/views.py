"""Purposes and policy versions: anyone may read them, staff publish them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from consent.catalogue import service
from consent.catalogue.models import PolicyCreate, PolicyRead, PurposeCreate, PurposeRead
from privacy_kit.app import DbConn
from privacy_kit.auth import Staff

router = APIRouter(prefix="/v1", tags=["purposes and policies"])


@router.get("/purposes", summary="The purposes catalogue (public)")
async def list_purposes(
    conn: DbConn, include_retired: Annotated[bool, Query()] = False
) -> list[PurposeRead]:
    return await service.list_purposes(conn=conn, include_retired=include_retired)


@router.get("/purposes/{purpose_id}", summary="One purpose (public)")
async def get_purpose(purpose_id: str, conn: DbConn) -> PurposeRead:
    return await service.get_purpose(conn=conn, purpose_id=purpose_id)


@router.post("/purposes", status_code=201, summary="Add a purpose (dpo, operator)")
async def create_purpose(body: PurposeCreate, conn: DbConn, staff: Staff) -> PurposeRead:
    async with conn.transaction():
        return await service.create_purpose(conn=conn, purpose=body, actor=staff.sub)


@router.post("/purposes/{purpose_id}/retire", summary="Retire a purpose; its history stays")
async def retire_purpose(purpose_id: str, conn: DbConn, staff: Staff) -> PurposeRead:
    async with conn.transaction():
        return await service.retire_purpose(conn=conn, purpose_id=purpose_id, actor=staff.sub)


@router.get("/policies", summary="Policy versions with changelog, newest first (public)")
async def list_policies(conn: DbConn) -> list[PolicyRead]:
    return await service.list_policies(conn=conn)


@router.get("/policies/{version}", summary="One policy version (public)")
async def get_policy(version: str, conn: DbConn) -> PolicyRead:
    return await service.get_policy(conn=conn, version=version)


@router.post("/policies", status_code=201, summary="Publish a policy version (dpo, operator)")
async def publish_policy(body: PolicyCreate, conn: DbConn, staff: Staff) -> PolicyRead:
    async with conn.transaction():
        return await service.publish_policy(conn=conn, policy=body, actor=staff.sub)
