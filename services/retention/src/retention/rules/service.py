"""Retention rules (O15): the stores' defaults, overrides by staff, and the seeded policy terms.

Precedence: an override for the store's category, else the store's declared default, else the
policy term of the category's name. A category with personal data and none of the three needs a
rule, and says so in the register and in /healthz.
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from privacy_kit.protocol import DataCategory, RetentionRule
from retention.i18n import tr
from retention.rules.models import (
    RetentionRuleChange,
    RetentionRuleDetail,
    RetentionRuleRead,
    RetentionRuleUpdate,
)

POLICY = "*"


class UnknownCategory(Exception):
    def __init__(self, store: str, known: list[str]) -> None:
        super().__init__(store)
        self.store = store
        self.known = known


class InvalidPeriod(Exception):
    pass


class OtherClock(Exception):
    """The store measures this category from another event; it cannot sweep by this one."""

    def __init__(self, store: str, category: str, clock: str) -> None:
        super().__init__(clock)
        self.message = tr(
            "The store '{store}' measures '{category}' from '{clock}': an override can change "
            "the period, the action and auto-approve, not the clock.",
            store=store, category=category, clock=clock)


async def declared_categories(*, conn: asyncpg.Connection) -> dict[str, list[DataCategory]]:
    """Each known store's categories, from its newest inventory."""
    rows = await conn.fetch("SELECT store, categories FROM store_inventory ORDER BY store")
    return {r["store"]: [DataCategory.model_validate(c) for c in json.loads(r["categories"])]
            for r in rows}


def _read(store: str, category: DataCategory | None, name: str,
          row: asyncpg.Record | None, policy: asyncpg.Record | None) -> RetentionRuleRead:
    base: dict[str, Any] = {
        "store": store, "category": name,
        "personal": category.personal if category else None,
        "description": category.retention_rule if category else "",
        "declared": category.retention if category else None,
    }
    chosen = row or (None if category and category.retention else policy)
    if chosen is not None:
        return RetentionRuleRead(
            **base, period=chosen["period"], clock=chosen["clock"], action=chosen["action"],
            auto_approve=chosen["auto_approve"], source=chosen["source"],
            changed_by=chosen["changed_by"], changed_at=chosen["changed_at"], needs_a_rule=False)
    if category is not None and category.retention is not None:
        rule = category.retention
        return RetentionRuleRead(**base, period=rule.period, clock=rule.clock, action=rule.action,
                                 source="declared", needs_a_rule=False)
    return RetentionRuleRead(**base, needs_a_rule=bool(category and category.personal))


async def list_rules(*, conn: asyncpg.Connection) -> list[RetentionRuleRead]:
    """Every declared category of every store with its effective rule, then the policy terms;
    ordered by store and category."""
    stores = await declared_categories(conn=conn)
    rows = await conn.fetch("SELECT * FROM retention_rule")
    set_rules = {(r["store"], r["category"]): r for r in rows}
    policy = {r["category"]: r for r in rows if r["store"] == POLICY}
    rules = [
        _read(store, c, c.name, set_rules.get((store, c.name)), policy.get(c.name))
        for store, categories in stores.items() for c in categories
    ]
    rules += [_read(POLICY, None, name, row, None) for name, row in policy.items()]
    return sorted(rules, key=lambda r: (r.store, r.category))


async def get_rule(*, conn: asyncpg.Connection, store: str, category: str) -> RetentionRuleDetail:
    rule = next((r for r in await list_rules(conn=conn)
                 if r.store == store and r.category == category), None)
    if rule is None:
        raise await _unknown(conn, store)
    changes = await conn.fetch(
        """SELECT change, period, clock, action, auto_approve, changed_by, changed_at
           FROM retention_rule_change WHERE store = $1 AND category = $2 ORDER BY id""",
        store, category)
    return RetentionRuleDetail(**rule.model_dump(),
                               changes=[RetentionRuleChange(**dict(c)) for c in changes])


async def _unknown(conn: asyncpg.Connection, store: str) -> UnknownCategory:
    stores = await declared_categories(conn=conn)
    return UnknownCategory(store, sorted(c.name for c in stores.get(store, [])))


async def _check_period(conn: asyncpg.Connection, period: str) -> None:
    try:
        async with conn.transaction():
            await conn.fetchval("SELECT now() - $1::text::interval", period)
    except (asyncpg.DataError, asyncpg.DatetimeFieldOverflowError,
            asyncpg.IntervalFieldOverflowError) as exc:
        raise InvalidPeriod(period) from exc


async def set_rule(*, conn: asyncpg.Connection, store: str, category: str,
                   rule: RetentionRuleUpdate, actor: str) -> RetentionRuleDetail:
    """Override a store's rule (or set a policy term, store '*'); the change is kept."""
    if store != POLICY:
        declared = {c.name: c for c in (await declared_categories(conn=conn)).get(store, [])}
        if category not in declared:
            raise await _unknown(conn, store)
        own = declared[category].retention
        if own is not None and own.clock != rule.clock:
            raise OtherClock(store, category, own.clock)
    await _check_period(conn, rule.period)
    source = "policy" if store == POLICY else "override"
    await conn.execute(
        """INSERT INTO retention_rule (store, category, period, clock, action, auto_approve,
                                       source, changed_by, changed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())
           ON CONFLICT (store, category) DO UPDATE SET period = $3, clock = $4, action = $5,
               auto_approve = $6, source = $7, changed_by = $8, changed_at = now()""",
        store, category, rule.period, rule.clock, rule.action, rule.auto_approve, source, actor)
    await _record(conn, store, category, source, rule, rule.auto_approve, actor)
    return await get_rule(conn=conn, store=store, category=category)


async def revert_rule(*, conn: asyncpg.Connection, store: str, category: str, actor: str) -> bool:
    """Drop an override (or a policy term): the store's default applies again."""
    deleted = await conn.fetchval(
        "DELETE FROM retention_rule WHERE store = $1 AND category = $2 RETURNING true",
        store, category)
    if deleted:
        await _record(conn, store, category, "revert", None, None, actor)
    return bool(deleted)


async def _record(conn: asyncpg.Connection, store: str, category: str, change: str,
                  rule: RetentionRule | None, auto_approve: bool | None, actor: str) -> None:
    await conn.execute(
        """INSERT INTO retention_rule_change (store, category, change, period, clock, action,
                                              auto_approve, changed_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        store, category, change, rule.period if rule else None, rule.clock if rule else None,
        rule.action if rule else None, auto_approve, actor)


async def record_declared_changes(
    *, conn: asyncpg.Connection, store: str, previous: list[DataCategory],
    current: list[DataCategory],
) -> None:
    """A store's new inventory: keep every default rule that is new or different."""
    before = {c.name: c.retention for c in previous}
    for category in current:
        if category.name in before and before[category.name] == category.retention:
            continue
        await _record(conn, store, category.name, "declared", category.retention, False,
                      f"store {store}")


async def needing_a_rule(*, conn: asyncpg.Connection) -> list[dict[str, str]]:
    return [{"store": r.store, "category": r.category}
            for r in await list_rules(conn=conn) if r.needs_a_rule]
