"""The record of processing activities (GDPR Art. 30), as JSON or CSV."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from privacy_kit.app import DbConn
from privacy_kit.auth import Staff
from retention.register import service
from retention.register.models import ProcessingRegister
from retention.settings import SettingsDep

router = APIRouter(prefix="/v1/processing-register", tags=["register"])


@router.get(
    "", summary="The Art. 30 record: per store and category why, on which basis, whose data, "
                "shared with whom, kept how long; and the sub-processors",
    description="Both views: the platform as processor for its client organisations and as "
    "controller for its own users. `?format=csv` or `Accept: text/csv` gives one CSV table.",
    response_model=ProcessingRegister,
    responses={200: {"content": {"text/csv": {}}}},
)
async def processing_register(
    request: Request, staff: Staff, conn: DbConn, settings: SettingsDep,
    format: Annotated[Literal["json", "csv"] | None, Query(description="json or csv")] = None,
) -> ProcessingRegister | Response:
    register = await service.get_register(conn=conn, expected_stores=settings.expected_stores,
                                          now=datetime.now(UTC))
    wants_csv = format == "csv" or (
        format is None and "text/csv" in request.headers.get("accept", ""))
    if wants_csv:
        stamp = register.generated_at.strftime("%Y%m%d")
        return Response(service.as_csv(register), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition":
                                 f'attachment; filename="processing-register-{stamp}.csv"'})
    return register
