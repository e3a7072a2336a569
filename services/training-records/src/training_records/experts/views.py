"""Subject-matter experts (O2): registered by operators, shown to every signed-in user."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from privacy_kit.app import DbConn
from privacy_kit.auth import CurrentPrincipal, Operator
from privacy_kit.paging import Page, Paging
from privacy_kit.sorting import SortOrder
from training_records.access import not_found
from training_records.experts import service
from training_records.experts.models import ExpertCreate, ExpertPublic, ExpertRead

router = APIRouter(prefix="/v1/experts", tags=["experts"])


@router.post("", status_code=201, response_model=ExpertRead,
             summary="Register a subject-matter expert with a public profile (operator)")
async def create_expert(body: ExpertCreate, conn: DbConn, principal: Operator) -> ExpertRead:
    async with conn.transaction():
        return await service.create(conn=conn, body=body, actor=principal.sub)


@router.get("", response_model=Page[ExpertPublic],
            summary="Public profiles of subject-matter experts (any signed-in user)")
async def list_experts(
    conn: DbConn, principal: CurrentPrincipal, page: Paging,
    sort: Annotated[SortOrder, Depends(service.ORDERING)],
) -> Page[ExpertPublic]:
    return await service.list_public(conn=conn, page=page, sort=sort)


@router.get("/{expert_id}", response_model=ExpertPublic,
            summary="One expert's public profile (any signed-in user)")
async def get_expert(expert_id: uuid.UUID, conn: DbConn, principal: CurrentPrincipal) -> ExpertPublic:
    expert = await service.get_public(conn=conn, expert_id=expert_id)
    if expert is None:
        raise not_found("expert")
    return expert
