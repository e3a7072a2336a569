"""The record of processing activities (GDPR Art. 30), merged from every store's inventory."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends

from privacy_kit.app import DbConn
from privacy_kit.auth import require_roles

router = APIRouter(prefix="/v1/processing-register", tags=["register"])


@router.get("", dependencies=[Depends(require_roles("dpo", "operator"))],
            summary="What every store holds, why, on which basis, for how long, shared with whom")
async def processing_register(conn: DbConn) -> dict[str, Any]:
    rows = await conn.fetch("SELECT * FROM store_inventory ORDER BY store")
    return {
        "stores": [
            {"store": r["store"], "personal": r["personal"], "published_at": r["published_at"],
             "categories": json.loads(r["categories"])}
            for r in rows
        ]
    }
