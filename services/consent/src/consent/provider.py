"""The consent store's part in the privacy contract: inventory, export, erasure."""

from __future__ import annotations

from typing import Any

import asyncpg

from consent.ledger import receipts, service
from consent.settings import Settings
from privacy_kit.db import rows_affected
from privacy_kit.protocol import RetentionRule
from privacy_kit.provider import DataCategory, ErasureScope, PrivacyProvider

LEDGER = "consent-ledger"
COOKIES = "cookie-choices"
OBJECTIONS = "marketing-objections"
PARENTAL = "parental-consents"


class ConsentProvider(PrivacyProvider):
    store = "consent"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def inventory(self) -> list[DataCategory]:
        proof = "GDPR Art. 7(1): the controller must be able to demonstrate consent"
        people = ["participants", "website visitors", "marketing contacts"]
        while_account = RetentionRule(period="P0D", clock="account_closed")
        return [
            DataCategory(
                name=LEDGER,
                fields=["subject_id", "purpose", "granted", "policy_version", "method",
                        "actor", "tenant_id", "recorded_at", "hash chain"],
                purpose="Proof of every grant and withdrawal of consent (O9, O11)",
                legal_basis=proof,
                retention=RetentionRule(period="P5Y", clock="last_activity"),
                retention_rule="consent-proof: a person's whole chain, five years after its "
                               "last change (the limitation period of a claim)",
                data_subjects=people, role="controller",
            ),
            DataCategory(
                name=COOKIES,
                fields=["cookie_id", "subject_id", "functional", "analytics", "marketing",
                        "gpc", "policy_version", "recorded_at"],
                purpose="Honouring visitors' cookie choices (O10)",
                legal_basis=proof,
                retention=RetentionRule(period="P1Y", clock="record_created"),
                retention_rule="cookie-choices: anonymous visitors' choices a year after they "
                               "were made (then asked again); signed-in people's with them",
                data_subjects=["website visitors"], role="controller",
            ),
            DataCategory(
                name=OBJECTIONS,
                fields=["subject_id", "purposes", "actor", "created_at", "lifted_at"],
                purpose="Honouring objections to direct marketing (O12)",
                legal_basis="GDPR Art. 21(2)-(3)", retention=while_account,
                retention_rule="consent-proof: while the person is known, erased with them",
                data_subjects=people, role="controller",
            ),
            DataCategory(
                name=PARENTAL,
                fields=["subject_id", "guardian_reference", "verification_method",
                        "verified_by", "verified_at"],
                purpose="Verified parental consent for people under 16 (O6)",
                legal_basis="GDPR Art. 8", retention=while_account,
                retention_rule="consent-proof: while the account exists, erased with it",
                data_subjects=["participants under 16 and their parents or guardians"],
            ),
        ]

    async def export(self, conn: asyncpg.Connection, subject_id: str) -> dict[str, Any]:
        ledger = await service.history(conn=conn, subject_id=subject_id)
        receipt_rows = await receipts.receipt_rows(conn=conn, subject_id=subject_id)
        cookies = await conn.fetch(
            """SELECT cookie_id, functional, analytics, marketing, gpc, policy_version,
                      recorded_at, linked_at FROM cookie_choice WHERE subject_id = $1
               ORDER BY recorded_at""",
            subject_id,
        )
        state = await service.effective_state(conn=conn, subject_id=subject_id)
        objections = await service.objections(conn=conn, subject_id=subject_id)
        parental = await service.parental_consents(conn=conn, subject_id=subject_id)
        return {
            "source": "Given by the person (or staff on their behalf) through banner, settings "
                      "page, API or import",
            "purpose": "Proof and honouring of consent choices",
            "effective_consents": state.model_dump(mode="json")["consents"],
            "ledger": [r.model_dump(mode="json") for r in ledger],
            "receipts": [receipts.build_receipt(r, self.settings) for r in receipt_rows],
            "cookie_choices": [{**dict(r), "recorded_at": r["recorded_at"].isoformat(),
                                "linked_at": r["linked_at"] and r["linked_at"].isoformat()}
                               for r in cookies],
            "marketing_objections": [o.model_dump(mode="json") for o in objections],
            "parental_consents": [p.model_dump(mode="json") for p in parental],
        }

    async def erase(self, conn: asyncpg.Connection, scope: ErasureScope) -> dict[str, int]:
        if scope.kind == "subject" and scope.subject_id:
            return await _erase_subject(conn, scope.subject_id)
        if scope.kind == "tenant" and scope.tenant_id:
            subjects = await conn.fetch(
                """SELECT DISTINCT subject_id FROM consent_record
                   WHERE tenant_id = $1 AND NOT subject_id = ANY($2::text[])""",
                scope.tenant_id, scope.held_subject_ids,
            )
            return await _erase_many(conn, [r["subject_id"] for r in subjects],
                                     keep=set(scope.held_categories))
        if scope.kind == "category" and scope.older_than is not None:
            return await _erase_category(conn, scope)
        return {}


async def _erase_subject(conn: asyncpg.Connection, subject_id: str,
                         keep: set[str] | None = None) -> dict[str, int]:
    """Everything of one person, but the categories in `keep` (under a legal hold, O17)."""
    keep = keep or set()
    statements = {
        COOKIES: """DELETE FROM cookie_choice WHERE subject_id = $1 OR cookie_id IN (
                        SELECT cookie_id FROM cookie_choice WHERE subject_id = $1)""",
        LEDGER: "DELETE FROM consent_record WHERE subject_id = $1",
        OBJECTIONS: "DELETE FROM marketing_objection WHERE subject_id = $1",
        PARENTAL: "DELETE FROM parental_consent WHERE subject_id = $1",
    }
    return {name: rows_affected(await conn.execute(sql, subject_id))
            for name, sql in statements.items() if name not in keep}


async def _erase_many(conn: asyncpg.Connection, subject_ids: list[str],
                      keep: set[str] | None = None) -> dict[str, int]:
    totals: dict[str, int] = dict.fromkeys((LEDGER, COOKIES, OBJECTIONS, PARENTAL), 0)
    for subject_id in subject_ids:
        for name, n in (await _erase_subject(conn, subject_id, keep)).items():
            totals[name] += n
    return totals


async def _erase_category(conn: asyncpg.Connection, scope: ErasureScope) -> dict[str, int]:
    """Cookie choices of visitors who never signed in expire by age; a ledger is erased as a
    whole chain, once its newest record is older than the cut-off (a partial chain proves
    nothing). Chains of held people and held tenants stay (O17)."""
    if scope.category == COOKIES:
        result = await conn.execute(
            "DELETE FROM cookie_choice WHERE subject_id IS NULL AND recorded_at < $1",
            scope.older_than,
        )
        return {COOKIES: rows_affected(result)}
    if scope.category == LEDGER:
        stale = await conn.fetch(
            """SELECT subject_id FROM consent_record GROUP BY subject_id
               HAVING max(recorded_at) < $1 AND NOT subject_id = ANY($2::text[])
                  AND NOT coalesce(bool_or(tenant_id = ANY($3::text[])), false)
                  AND ($4::text IS NULL OR coalesce(bool_or(tenant_id = $4), false))""",
            scope.older_than, scope.held_subject_ids, scope.held_tenant_ids, scope.tenant_id,
        )
        return await _erase_many(conn, [r["subject_id"] for r in stale])
    return {}
