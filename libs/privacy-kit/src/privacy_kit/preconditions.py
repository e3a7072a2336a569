"""`ETag` and `If-Match`: an update made on a stale copy is refused with 412, not lost.

A resource that supports it answers reads and updates with `ETag: "<tag>"`. A client that
sends the tag back as `If-Match` on its update gets 412 `precondition_failed` when someone
changed the resource in between; `If-Match: *` and no `If-Match` at all always pass. Compare
the tag with the row locked (`SELECT ... FOR UPDATE`) so that the check and the update see
the same version.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import Header

from privacy_kit.errors import ApiError
from privacy_kit.i18n import tr

IfMatch = Annotated[str | None, Header(
    alias="If-Match",
    description="The `ETag` of the version you changed: a stale one is refused with 412.",
    examples=['"3f2a9c1d0b7e4a56"'],
)]


def entity_tag(*version: Any) -> str:
    """A strong tag from what identifies a version (id, updated_at, ...), quoted."""
    raw = "\x1f".join(v.isoformat() if hasattr(v, "isoformat") else str(v) for v in version)
    return f'"{hashlib.sha256(raw.encode()).hexdigest()[:16]}"'


def check_if_match(if_match: str | None, current: str) -> None:
    if if_match is None:
        return
    offered = [tag.strip() for tag in if_match.split(",") if tag.strip()]
    # Weak tags (W/"...") never match an If-Match: it asks for the exact same representation.
    if "*" in offered or current in offered:
        return
    raise ApiError(
        412, "precondition_failed",
        tr("Someone changed this since you read it (its ETag is now {etag}). Read it again, "
           "apply your change to the new version and send that version's ETag.", etag=current),
        headers={"ETag": current},
    )
