"""The record of processing activities (GDPR Art. 30), merged from every store's inventory."""

from __future__ import annotations

import json
from datetime import datetime

import asyncpg

from privacy_kit.protocol import InventoryPublished
from retention.register.models import ProcessingRegister, StoreRecord


async def record_inventory(
    *, conn: asyncpg.Connection, inventory: InventoryPublished, published_at: datetime
) -> None:
    """Keep the newest inventory of each store (an older one arriving late changes nothing)."""
    categories = [c.model_dump(mode="json") for c in inventory.categories]
    await conn.execute(
        """INSERT INTO store_inventory (store, categories, personal, published_at)
           VALUES ($1, $2::jsonb, $3, $4)
           ON CONFLICT (store) DO UPDATE SET categories = EXCLUDED.categories,
               personal = EXCLUDED.personal, published_at = EXCLUDED.published_at
           WHERE store_inventory.published_at <= EXCLUDED.published_at""",
        inventory.store, json.dumps(categories), any(c.personal for c in inventory.categories),
        published_at,
    )


async def stores_with_personal_data(*, conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch("SELECT store FROM store_inventory WHERE personal ORDER BY store")
    return [r["store"] for r in rows]


async def get_register(*, conn: asyncpg.Connection) -> ProcessingRegister:
    rows = await conn.fetch("SELECT * FROM store_inventory ORDER BY store")
    return ProcessingRegister(stores=[
        StoreRecord(store=r["store"], personal=r["personal"], published_at=r["published_at"],
                    categories=json.loads(r["categories"]))
        for r in rows
    ])
