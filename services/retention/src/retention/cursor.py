"""Keyset cursors of retention's lists: (created_at, id), newest first."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from privacy_kit.errors import ApiError
from retention.i18n import tr


def time_and_id(cursor: list[Any] | None) -> tuple[datetime | None, uuid.UUID | None]:
    if not cursor:
        return None, None
    try:
        return datetime.fromisoformat(str(cursor[0])), uuid.UUID(str(cursor[1]))
    except (ValueError, IndexError) as exc:
        raise ApiError(422, "invalid_cursor", tr("The cursor is not one this list gave out.")) from exc


def key(created_at: datetime, id_: uuid.UUID) -> list[str]:
    return [created_at.isoformat(), str(id_)]
