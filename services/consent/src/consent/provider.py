"""The consent store's part in the privacy contract: inventory, export, erasure."""

from __future__ import annotations

from typing import Any

import asyncpg

from consent import events
from consent.ledger import receipts, service
from consent.settings import Settings
from privacy_kit.db import rows_affected
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
        return [
            DataCategory(
                name=LEDGER,
                fields=["subject_id", "purpose", "granted", "policy_version", "method",
                        "actor", "tenant_id", "recorded_at", "hash chain"],
                purpose="Proof of every grant and withdrawal of consent (O9, O11)",
                legal_basis=proof, retention_rule="consent-proof",
            ),
            DataCategory(
                name=COOKIES,
                fields=["cookie_id", "subject_id", "functional", "analytics", "marketing",
                        "gpc", "policy_version", "recorded_at"],
                purpose="Honouring visitors' cookie choices (O10)",
                legal_basis=proof, retention_rule="cookie-choices",
            ),
            DataCategory(
                name=OBJECTIONS,
                fields=["subject_id", "purposes", "actor", "created_at", "lifted_at"],
                purpose="Honouring objections to direct marketing (O12)",
                legal_basis="GDPR Art. 21(2)-(3)", retention_rule="consent-proof",
            ),
            DataCategory(
                name=PARENTAL,
                fields=["subject_id", "guardian_reference", "verification_method",
                        "verified_by", "verified_at"],
                purpose="Verified parental consent for people under 16 (O6)",
                legal_basis="GDPR Art. 8", retention_rule="consent-proof",
            ),
        ]

    async def export(self, conn: asyncpg.Connection, subject_id: str) -> dict[str, Any]:
        ledger = await service.history(conn=conn, subject_id=subject_id)
        receipt_rows = await conn.fetch(
            """SELECT r.*, p.name AS purpose_name, p.description AS purpose_description,
                      p.legal_basis, p.vendors, p.direct_marketing, p.default_granted,
                      v.url AS policy_url, v.effective_date AS policy_effective_date
               FROM consent_record r JOIN purpose p ON p.id = r.purpose_id
               JOIN policy_version v ON v.version = r.policy_version
               WHERE r.subject_id = $1 ORDER BY r.chain_index""",
            subject_id,
        )
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

    async def restrict(self, conn: asyncpg.Connection, subject_id: str) -> None:
        await _restriction(conn, subject_id, "restricted")

    async def object_to_processing(self, conn: asyncpg.Connection, subject_id: str) -> None:
        await _restriction(conn, subject_id, "objected")

    async def lift(self, conn: asyncpg.Connection, subject_id: str) -> None:
        await _restriction(conn, subject_id, None)

    async def erase(self, conn: asyncpg.Connection, scope: ErasureScope) -> dict[str, int]:
        if scope.kind == "subject" and scope.subject_id:
            return await _erase_subject(conn, scope.subject_id)
        if scope.kind == "tenant" and scope.tenant_id:
            subjects = await conn.fetch(
                """SELECT DISTINCT subject_id FROM consent_record
                   WHERE tenant_id = $1 AND NOT subject_id = ANY($2::text[])""",
                scope.tenant_id, scope.held_subject_ids,
            )
            return await _erase_many(conn, [r["subject_id"] for r in subjects])
        if scope.kind == "category" and scope.older_than is not None:
            return await _erase_category(conn, scope)
        return {}


async def _restriction(conn: asyncpg.Connection, subject_id: str, cause: str | None) -> None:
    """Apply or lift a restriction and announce every purpose whose effective state flips, so
    processors that follow consent.changed stop (or resume) too."""
    before = await service.effective_state(conn=conn, subject_id=subject_id)
    await service.set_restriction(conn=conn, subject_id=subject_id, cause=cause)
    after = await service.effective_state(conn=conn, subject_id=subject_id)
    for purpose, state in after.consents.items():
        old = before.consents.get(purpose)
        if old is not None and old.granted != state.granted:
            await events.consent_changed(conn, subject_id=subject_id, purpose=purpose,
                                         granted=state.granted)


async def _erase_subject(conn: asyncpg.Connection, subject_id: str) -> dict[str, int]:
    await conn.execute("DELETE FROM subject_restriction WHERE subject_id = $1", subject_id)
    cookies = await conn.execute(
        """DELETE FROM cookie_choice WHERE subject_id = $1 OR cookie_id IN (
               SELECT cookie_id FROM cookie_choice WHERE subject_id = $1)""",
        subject_id,
    )
    ledger = await conn.execute("DELETE FROM consent_record WHERE subject_id = $1", subject_id)
    objections = await conn.execute(
        "DELETE FROM marketing_objection WHERE subject_id = $1", subject_id)
    parental = await conn.execute("DELETE FROM parental_consent WHERE subject_id = $1", subject_id)
    return {LEDGER: rows_affected(ledger), COOKIES: rows_affected(cookies), OBJECTIONS: rows_affected(objections),
            PARENTAL: rows_affected(parental)}


async def _erase_many(conn: asyncpg.Connection, subject_ids: list[str]) -> dict[str, int]:
    totals: dict[str, int] = {LEDGER: 0, COOKIES: 0, OBJECTIONS: 0, PARENTAL: 0}
    for subject_id in subject_ids:
        for name, n in (await _erase_subject(conn, subject_id)).items():
            totals[name] += n
    return totals


async def _erase_category(conn: asyncpg.Connection, scope: ErasureScope) -> dict[str, int]:
    """Cookie choices of visitors who never signed in expire by age; a ledger is erased as a
    whole chain, once its newest record is older than the cut-off (a partial chain proves
    nothing)."""
    if scope.category == COOKIES:
        result = await conn.execute(
            "DELETE FROM cookie_choice WHERE subject_id IS NULL AND recorded_at < $1",
            scope.older_than,
        )
        return {COOKIES: rows_affected(result)}
    if scope.category == LEDGER:
        stale = await conn.fetch(
            """SELECT subject_id FROM consent_record GROUP BY subject_id
               HAVING max(recorded_at) < $1 AND NOT subject_id = ANY($2::text[])""",
            scope.older_than, scope.held_subject_ids,
        )
        return await _erase_many(conn, [r["subject_id"] for r in stale])
    return {}
