"""The consent store's part in the privacy contract: inventory, export, erasure."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from consent import events, optout
from consent.ledger import receipts, service
from consent.settings import Settings
from privacy_kit.db import rows_affected
from privacy_kit.protocol import RetentionRule
from privacy_kit.provider import DataCategory, ErasureScope, PrivacyProvider, TenantRecord

LEDGER = "consent-ledger"
COOKIES = "cookie-choices"
OBJECTIONS = "marketing-objections"
PARENTAL = "parental-consents"
ERASED_OPT_OUTS = "erased-opt-outs"
ANNOUNCEMENTS = "policy-announcements"


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
            DataCategory(
                name=ANNOUNCEMENTS,
                fields=["subject_id", "policy_version", "status", "told_at", "message_id",
                        "accepted_at", "actor"],
                purpose="Tell people of a policy change that widens collection or "
                        "sub-processors, and know who accepted which version (O14)",
                legal_basis="GDPR Art. 12-13 (transparency), Art. 5(2) (accountability)",
                retention=while_account,
                retention_rule="consent-proof: while the person is known, erased with them",
                data_subjects=people, role="controller",
            ),
            DataCategory(
                name=ERASED_OPT_OUTS, fields=["keyed hash of the subject id", "erased_at"],
                purpose="Keep honouring an erased person's opt-out of anonymised data while "
                        "the other stores finish the same erasure (O13)",
                legal_basis="legal obligation (Art. 6(1)(c)): honouring the objection",
                retention=RetentionRule(period=f"P{self.settings.opt_out_memory_days}D",
                                        clock="record_created"),
                retention_rule=f"{self.settings.opt_out_memory_days} days after the erasure",
                data_subjects=["erased participants who had opted out of anonymised data"],
                role="controller",
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
            **await _announcements(conn, subject_id),
        }

    async def export_tenant(
        self, conn: asyncpg.Connection, tenant_id: str
    ) -> AsyncIterator[TenantRecord]:
        """The tenant's ledger, and the choices of the people that ledger names (O18)."""
        subjects = "SELECT DISTINCT subject_id FROM consent_record WHERE tenant_id = $1"
        for category, table, sql in (
            (LEDGER, "consent_record",
             """SELECT r.*, p.name AS purpose FROM consent_record r
                JOIN purpose p ON p.id = r.purpose_id
                WHERE r.tenant_id = $1 ORDER BY r.subject_id, r.chain_index"""),
            (OBJECTIONS, "marketing_objection",
             f"SELECT * FROM marketing_objection WHERE subject_id IN ({subjects})"),
            (PARENTAL, "parental_consent",
             f"SELECT * FROM parental_consent WHERE subject_id IN ({subjects})"),
            (COOKIES, "cookie_choice",
             f"SELECT * FROM cookie_choice WHERE subject_id IN ({subjects})"),
        ):
            async for row in conn.cursor(f"SELECT row_to_json(r)::text AS j FROM ({sql}) r",
                                         tenant_id, prefetch=2000):
                yield TenantRecord(category, table, row["j"])

    async def restrict(self, conn: asyncpg.Connection, subject_id: str) -> None:
        await _restriction(conn, subject_id, "restricted")

    async def object_to_processing(self, conn: asyncpg.Connection, subject_id: str) -> None:
        await _restriction(conn, subject_id, "objected")

    async def lift(self, conn: asyncpg.Connection, subject_id: str) -> None:
        await _restriction(conn, subject_id, None)

    async def erase(self, conn: asyncpg.Connection, scope: ErasureScope) -> dict[str, int]:
        if scope.kind == "subject" and scope.subject_id:
            await optout.remember_erased(conn=conn, settings=self.settings,
                                         subject_id=scope.subject_id)
            return await _erase_subject(conn, scope.subject_id)
        if scope.kind == "tenant" and scope.tenant_id:
            subjects = await conn.fetch(
                """SELECT DISTINCT subject_id FROM consent_record
                   WHERE tenant_id = $1 AND NOT subject_id = ANY($2::text[])""",
                scope.tenant_id, scope.held_subject_ids,
            )
            for subject in subjects:
                await optout.remember_erased(conn=conn, settings=self.settings,
                                             subject_id=subject["subject_id"])
            return await _erase_many(conn, [r["subject_id"] for r in subjects],
                                     keep=set(scope.held_categories))
        if scope.kind == "category" and scope.older_than is not None:
            return await _erase_category(conn, scope)
        return {}


async def _announcements(conn: asyncpg.Connection, subject_id: str) -> dict[str, Any]:
    told = await conn.fetch(
        """SELECT policy_version, status, told_at, message_id FROM policy_announcement
           WHERE subject_id = $1 ORDER BY created_at""", subject_id)
    accepted = await conn.fetch(
        """SELECT policy_version, accepted_at, actor_sub, actor_role, on_behalf
           FROM policy_acceptance WHERE subject_id = $1 ORDER BY accepted_at""", subject_id)
    return {
        "policy_announcements": [
            {**dict(r), "told_at": r["told_at"] and r["told_at"].isoformat(),
             "message_id": r["message_id"] and str(r["message_id"])} for r in told],
        "policy_acceptances": [{**dict(r), "accepted_at": r["accepted_at"].isoformat()}
                               for r in accepted],
    }


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


async def _erase_subject(conn: asyncpg.Connection, subject_id: str,
                         keep: set[str] | None = None) -> dict[str, int]:
    """Everything of one person, but the categories in `keep` (under a legal hold, O17)."""
    keep = keep or set()
    return await _erase_many(conn, [subject_id], keep)


async def _erase_many(conn: asyncpg.Connection, subject_ids: list[str],
                      keep: set[str] | None = None) -> dict[str, int]:
    """Everything of these people, but the categories in `keep` (under a legal hold, O17): one
    set-based statement per category, not one per person (a tenant of 10,000 at contract end).
    The ledger lets its rows go only for the subjects named in `consent_erasing` (O11)."""
    keep = keep or set()
    statements = {
        COOKIES: ["""DELETE FROM cookie_choice WHERE subject_id = ANY($1::text[]) OR cookie_id IN (
                         SELECT cookie_id FROM cookie_choice WHERE subject_id = ANY($1::text[]))"""],
        LEDGER: ["DELETE FROM consent_record WHERE subject_id = ANY($1::text[])"],
        OBJECTIONS: ["DELETE FROM marketing_objection WHERE subject_id = ANY($1::text[])"],
        PARENTAL: ["DELETE FROM parental_consent WHERE subject_id = ANY($1::text[])"],
        ANNOUNCEMENTS: ["DELETE FROM policy_announcement WHERE subject_id = ANY($1::text[])",
                        "DELETE FROM policy_acceptance WHERE subject_id = ANY($1::text[])"],
    }
    if not subject_ids:
        return {name: 0 for name in statements if name not in keep}
    if not keep:
        # A restriction protects what is kept: it goes only with the whole person.
        await conn.execute("DELETE FROM subject_restriction WHERE subject_id = ANY($1::text[])",
                           subject_ids)
    await conn.execute("INSERT INTO consent_erasing SELECT DISTINCT unnest($1::text[])"
                       " ON CONFLICT DO NOTHING", subject_ids)
    counts: dict[str, int] = {}
    for name, sqls in statements.items():
        if name not in keep:
            counts[name] = sum([rows_affected(await conn.execute(sql, subject_ids))
                                for sql in sqls])
    await conn.execute("DELETE FROM consent_erasing WHERE subject_id = ANY($1::text[])",
                       subject_ids)
    return counts


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
    if scope.category == ERASED_OPT_OUTS:
        result = await conn.execute("DELETE FROM erased_opt_out WHERE erased_at < $1",
                                    scope.older_than)
        return {ERASED_OPT_OUTS: rows_affected(result)}
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
