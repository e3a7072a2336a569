"""The record of processing activities (GDPR Art. 30)."""

from __future__ import annotations

from fastapi import APIRouter

from privacy_kit.app import DbConn
from privacy_kit.auth import Staff
from retention.register import service
from retention.register.models import ProcessingRegister

router = APIRouter(prefix="/v1/processing-register", tags=["register"])


@router.get("", summary="What every store holds, why, on which basis, for how long, shared with whom")
async def processing_register(staff: Staff, conn: DbConn) -> ProcessingRegister:
    return await service.get_register(conn=conn)
