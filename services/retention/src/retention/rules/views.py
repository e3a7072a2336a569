"""Retention rules per store and category (O15): read, override, revert."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from privacy_kit.app import DbConn
from privacy_kit.auth import Staff
from privacy_kit.errors import ApiError
from privacy_kit.paging import Page, Paging, page_of
from retention.i18n import tr
from retention.rules import service
from retention.rules.models import RetentionRuleDetail, RetentionRuleRead, RetentionRuleUpdate

router = APIRouter(prefix="/v1/retention-rules", tags=["retention rules"])

StorePath = Annotated[str, Path(min_length=1, max_length=100,
                                description="A store's name, or '*' for a policy term")]
CategoryPath = Annotated[str, Path(min_length=1, max_length=200)]


def _unknown(exc: service.UnknownCategory, category: str) -> ApiError:
    if not exc.known:
        return ApiError(404, "not_found", tr("No store named '{store}' has declared what it "
                                             "holds.", store=exc.store))
    return ApiError(404, "not_found", tr("The store '{store}' declares no category "
                                         "'{category}'; its categories are: {known}.",
                                         store=exc.store, category=category,
                                         known=", ".join(exc.known)))


@router.get("", summary="Every store's categories with the rule that applies (O15)")
async def list_rules(
    staff: Staff, conn: DbConn, paging: Paging,
    needs_a_rule: Annotated[bool | None, Query(description="Only those without a rule")] = None,
    store: Annotated[str | None, Query(max_length=100)] = None,
) -> Page[RetentionRuleRead]:
    rules = [r for r in await service.list_rules(conn=conn)
             if (needs_a_rule is None or r.needs_a_rule == needs_a_rule)
             and (store is None or r.store == store)]
    if paging.cursor:
        after = tuple(str(k) for k in paging.cursor)
        rules = [r for r in rules if (r.store, r.category) > after]
    return page_of(rules[: paging.limit + 1], paging, key=lambda r: [r.store, r.category])


@router.get("/{store}/{category}", summary="One rule with every change, who and when")
async def get_rule(store: StorePath, category: CategoryPath, staff: Staff,
                   conn: DbConn) -> RetentionRuleDetail:
    try:
        return await service.get_rule(conn=conn, store=store, category=category)
    except service.UnknownCategory as exc:
        raise _unknown(exc, category) from exc


@router.put("/{store}/{category}", summary="Override a store's rule (operator, DPO)")
async def set_rule(store: StorePath, category: CategoryPath, body: RetentionRuleUpdate,
                   staff: Staff, conn: DbConn) -> RetentionRuleDetail:
    try:
        async with conn.transaction():
            return await service.set_rule(conn=conn, store=store, category=category, rule=body,
                                          actor=staff.sub)
    except service.UnknownCategory as exc:
        raise _unknown(exc, category) from exc
    except service.OtherClock as exc:
        raise ApiError(422, "other_clock", exc.message) from exc
    except service.InvalidPeriod as exc:
        raise ApiError(422, "invalid_period",
                       tr("body.period: '{period}' is not a usable ISO-8601 duration.",
                          period=body.period)) from exc


@router.delete("/{store}/{category}", status_code=204,
               summary="Drop an override: the store's default applies again (operator, DPO)")
async def revert_rule(store: StorePath, category: CategoryPath, staff: Staff,
                      conn: DbConn) -> Response:
    async with conn.transaction():
        dropped = await service.revert_rule(conn=conn, store=store, category=category,
                                            actor=staff.sub)
    if not dropped:
        raise ApiError(404, "not_found", tr("There is no override of this rule to drop."))
    return Response(status_code=204)
