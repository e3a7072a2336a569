"""The record of processing activities (GDPR Art. 30), merged from every store's inventory."""

from __future__ import annotations

import json
from datetime import datetime

import asyncpg

from privacy_kit.protocol import DataCategory, InventoryPublished
from retention.register.models import ProcessingRegister, StoreRecord
from retention.rules import service as rules


async def record_inventory(
    *, conn: asyncpg.Connection, inventory: InventoryPublished, published_at: datetime
) -> None:
    """Keep the newest inventory of each store (an older one arriving late changes nothing),
    and every change of a store's default retention rules."""
    previous = await conn.fetchrow(
        "SELECT categories, published_at FROM store_inventory WHERE store = $1 FOR UPDATE",
        inventory.store)
    if previous is not None and previous["published_at"] > published_at:
        return
    categories = [c.model_dump(mode="json") for c in inventory.categories]
    await conn.execute(
        """INSERT INTO store_inventory (store, categories, personal, published_at)
           VALUES ($1, $2::jsonb, $3, $4)
           ON CONFLICT (store) DO UPDATE SET categories = EXCLUDED.categories,
               personal = EXCLUDED.personal, published_at = EXCLUDED.published_at""",
        inventory.store, json.dumps(categories), any(c.personal for c in inventory.categories),
        published_at,
    )
    before = ([DataCategory.model_validate(c) for c in json.loads(previous["categories"])]
              if previous is not None else [])
    await rules.record_declared_changes(conn=conn, store=inventory.store, previous=before,
                                        current=list(inventory.categories))


async def stores_with_personal_data(*, conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch("SELECT store FROM store_inventory WHERE personal ORDER BY store")
    return [r["store"] for r in rows]


async def get_register(*, conn: asyncpg.Connection) -> ProcessingRegister:
    rows = await conn.fetch("SELECT * FROM store_inventory ORDER BY store")
    return ProcessingRegister(needs_a_rule=await rules.needing_a_rule(conn=conn), stores=[
        StoreRecord(store=r["store"], personal=r["personal"], published_at=r["published_at"],
                    categories=json.loads(r["categories"]))
        for r in rows
    ])
