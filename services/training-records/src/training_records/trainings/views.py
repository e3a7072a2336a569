from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from privacy_kit.app import DbConn
from privacy_kit.auth import CurrentPrincipal, Operator
from privacy_kit.paging import Page, Paging, page_of
from privacy_kit.sorting import SortOrder
from training_records.access import not_found
from training_records.settings import SettingsDep
from training_records.trainings import service
from training_records.trainings.models import Benchmark, TrainingCreate, TrainingRead

router = APIRouter(prefix="/v1/trainings", tags=["trainings"])


@router.post("", status_code=201, response_model=TrainingRead,
             summary="Add a training with its ordered modules to the catalogue (operator)")
async def create_training(
    body: TrainingCreate, conn: DbConn, principal: Operator
) -> TrainingRead:
    async with conn.transaction():
        return await service.create(conn=conn, body=body)


@router.get("", response_model=Page[TrainingRead],
            summary="The training catalogue (any signed-in user)")
async def list_trainings(
    conn: DbConn, principal: CurrentPrincipal, page: Paging,
    sort: Annotated[SortOrder, Depends(service.ORDERING)],
) -> Page[TrainingRead]:
    rows = await service.list_page(conn=conn, page=page, sort=sort)
    return page_of(rows, page, sort.cursor_key)


@router.get("/{training_id}", response_model=TrainingRead, summary="One training and its modules")
async def get_training(
    training_id: uuid.UUID, conn: DbConn, principal: CurrentPrincipal
) -> TrainingRead:
    training = await service.get(conn=conn, training_id=training_id)
    if training is None:
        raise not_found("training")
    return training


@router.get(
    "/{training_id}/benchmark", response_model=Benchmark,
    summary="Anonymous benchmark of a training: count, mean score, pass rate (O16)",
    description="Counts every participant's latest result, including the anonymous aggregate "
    "left behind by erased participants. Mean and pass rate are withheld while fewer than "
    "`minimum_group` people count, so a small group cannot be read back to one person.",
)
async def get_benchmark(
    training_id: uuid.UUID, conn: DbConn, principal: CurrentPrincipal, settings: SettingsDep
) -> Benchmark:
    if await service.get(conn=conn, training_id=training_id) is None:
        raise not_found("training")
    return await service.benchmark(conn=conn, training_id=training_id,
                                   minimum_group=settings.benchmark_min_participants)
