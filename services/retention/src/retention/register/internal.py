"""The processing register for other services (service token): subject-rights puts each
category's purposes, legal bases, recipients and retention into a person's access bundle."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter

from privacy_kit.app import DbConn
from privacy_kit.auth import ServiceCaller
from retention.register import service
from retention.register.models import ProcessingRegister
from retention.settings import SettingsDep

router = APIRouter(prefix="/internal/processing-register", tags=["internal"],
                   include_in_schema=False)


@router.get("")
async def processing_register(caller: ServiceCaller, conn: DbConn,
                              settings: SettingsDep) -> ProcessingRegister:
    return await service.get_register(conn=conn, expected_stores=settings.expected_stores,
                                      now=datetime.now(UTC))
