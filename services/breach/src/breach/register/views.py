from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from breach.register import service
from breach.register.models import BreachCreate, BreachRead
from breach.settings import Settings
from privacy_kit.app import DbConn
from privacy_kit.auth import Principal, require_roles
from privacy_kit.errors import ApiError

router = APIRouter(prefix="/v1/breaches", tags=["breaches"])
Staff = Annotated[Principal, Depends(require_roles("dpo", "operator"))]


@router.post("", status_code=201, response_model=BreachRead,
             summary="Register a breach (O26); opens a 24 h notification per affected tenant (O27)")
async def register_breach(body: BreachCreate, principal: Staff, conn: DbConn, request: Request) -> Any:
    settings: Settings = request.app.state.settings
    async with conn.transaction():
        breach_id = await service.register(
            conn=conn, body=body, registered_by=principal.sub,
            tenant_hours=settings.tenant_notification_hours,
            authority_hours=settings.authority_notification_hours, source=settings.service_name,
        )
    return await service.get(conn=conn, breach_id=breach_id)


@router.get("/{breach_id}", response_model=BreachRead, summary="One breach with its deadlines")
async def get_breach(breach_id: uuid.UUID, principal: Staff, conn: DbConn) -> Any:
    found = await service.get(conn=conn, breach_id=breach_id)
    if found is None:
        raise ApiError(404, "not_found", "There is no breach with this id.")
    return found
