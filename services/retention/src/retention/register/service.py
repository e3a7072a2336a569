"""The record of processing activities (GDPR Art. 30), merged from every store's inventory."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

import asyncpg

from privacy_kit.protocol import DataCategory, InventoryPublished
from retention.register.models import (
    ProcessingActivity,
    ProcessingRegister,
    RegisterView,
    RetentionEntry,
    StoreRecord,
)
from retention.rules import service as rules
from retention.sub_processor import service as sub_processors


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


SECURITY_MEASURES = [
    "Personal data is keyed by random pseudonymous ids; names and e-mails never leave a "
    "store's database in events (O8)",
    "Every request carries a signed token; roles and tenant boundaries are checked at the "
    "gateway and again in each service (O2, O3)",
    "Every read of a person's data by someone else is logged and shown to the person (O3)",
    "One database per service; events go through a transactional outbox and carry no "
    "personal data, so a Kafka log never needs erasing",
    "Erasure reaches every expected store and is proven by a certificate naming no one (O25)",
    "Retention rules per category, swept with a dry run and approval; legal holds (O15-O17)",
    "Breaches are registered with 24 h and 72 h deadlines (O26-O28)",
]
PROCESSOR = ("The platform as processor: what it processes on behalf of each client "
             "organisation (tenant), the controller of its participants' data (O1).")
CONTROLLER = ("The platform as controller: its own users, website visitors, customers' "
              "coordinators, experts and staff (O1).")


async def get_register(*, conn: asyncpg.Connection, expected_stores: list[str],
                       now: datetime) -> ProcessingRegister:
    rows = await conn.fetch("SELECT * FROM store_inventory ORDER BY store")
    effective = {(r.store, r.category): r for r in await rules.list_rules(conn=conn)}
    views: dict[str, list[ProcessingActivity]] = {"processor": [], "controller": []}
    stores = []
    for r in rows:
        categories = [DataCategory.model_validate(c) for c in json.loads(r["categories"])]
        stores.append(StoreRecord(store=r["store"], personal=r["personal"],
                                  published_at=r["published_at"], categories=categories))
        for c in categories:
            rule = effective.get((r["store"], c.name))
            retention = None
            if rule is not None and rule.period and rule.clock and rule.action and rule.source:
                retention = RetentionEntry(period=rule.period, clock=rule.clock,
                                           action=rule.action, source=rule.source,
                                           auto_approve=rule.auto_approve)
            views[c.role].append(ProcessingActivity(
                store=r["store"], category=c.name, personal=c.personal, purpose=c.purpose,
                legal_basis=c.legal_basis, data_subjects=c.data_subjects,
                personal_data=c.fields, recipients=c.recipients, retention=retention,
                retention_description=c.retention_rule,
                needs_a_rule=bool(rule and rule.needs_a_rule)))
    current = await sub_processors.list_all(conn=conn)
    known = {r["store"] for r in rows}
    return ProcessingRegister(
        generated_at=now,
        processor=RegisterView(role="processor", description=PROCESSOR,
                               activities=views["processor"]),
        controller=RegisterView(role="controller", description=CONTROLLER,
                                activities=views["controller"]),
        sub_processors=current,
        transfers_outside_eea=[s for s in current if not s.in_eea],
        security_measures=SECURITY_MEASURES,
        stores_missing=[s for s in expected_stores if s not in known],
        needs_a_rule=await rules.needing_a_rule(conn=conn),
        stores=stores,
    )


CSV_COLUMNS = ["record", "role", "store", "category", "personal", "purpose", "legal_basis",
               "data_subjects", "personal_data", "recipients", "retention_period",
               "retention_clock", "retention_action", "retention_source", "needs_a_rule",
               "sub_processor", "service", "location", "in_eea", "transfer_basis", "added_at",
               "changed_at"]


def as_csv(register: ProcessingRegister) -> str:
    """The register as one CSV table: a row per activity (in each role), then a row per
    sub-processor; lists are joined with '; '."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for view in (register.processor, register.controller):
        for a in view.activities:
            writer.writerow({
                "record": "activity", "role": view.role, "store": a.store,
                "category": a.category, "personal": a.personal, "purpose": a.purpose,
                "legal_basis": a.legal_basis, "data_subjects": "; ".join(a.data_subjects),
                "personal_data": "; ".join(a.personal_data),
                "recipients": "; ".join(a.recipients),
                "retention_period": a.retention.period if a.retention else "",
                "retention_clock": a.retention.clock if a.retention else "",
                "retention_action": a.retention.action if a.retention else "",
                "retention_source": a.retention.source if a.retention else "",
                "needs_a_rule": a.needs_a_rule})
    for s in register.sub_processors:
        writer.writerow({
            "record": "sub_processor", "sub_processor": s.name, "service": s.service,
            "location": s.location, "in_eea": s.in_eea, "transfer_basis": s.transfer_basis or "",
            "added_at": s.added_at.isoformat(), "changed_at": s.changed_at.isoformat()})
    return out.getvalue()
