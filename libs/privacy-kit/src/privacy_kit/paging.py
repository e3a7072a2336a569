"""One list envelope for every list in the suite: `{"items": [...], "next_cursor": ...}`.

Lists are keyset-paged: the cursor is an opaque token holding the sort key of the last item
returned, so a page never skips or repeats a row when rows are added in between.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field

from privacy_kit.errors import ApiError

T = TypeVar("T")

MAX_LIMIT = 200


class Page(BaseModel, Generic[T]):
    """A page of a list, newest first unless the route says otherwise."""

    items: list[T]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` to get the next page; null on the last page."
    )


def encode_cursor(key: list[Any]) -> str:
    raw = json.dumps(key, default=str, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise ApiError(422, "invalid_cursor", "The cursor is not one this list gave out.") from exc
    if not isinstance(key, list):
        raise ApiError(422, "invalid_cursor", "The cursor is not one this list gave out.")
    return key


class PageParams(BaseModel):
    limit: int
    cursor: list[Any] | None


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page")] = 50,
    cursor: Annotated[str | None, Query(max_length=500, description="From `next_cursor`")] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=decode_cursor(cursor) if cursor else None)


Paging = Annotated[PageParams, Depends(page_params)]


def page_of(rows: list[T], params: PageParams, key: Any) -> Page[T]:
    """Build a page from up to `limit + 1` rows fetched; `key(row)` is the row's sort key."""
    if len(rows) > params.limit:
        rows = rows[: params.limit]
        return Page(items=rows, next_cursor=encode_cursor(key(rows[-1])))
    return Page(items=rows)
