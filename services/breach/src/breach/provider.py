"""The privacy-provider contract for the breach register.

Personal data here: affected subject ids (with their tenant), who was told and when, reporter
contacts, and the subjects of disclosures to authorities. Erasure removes those links; the
breach facts, the counts and the timeline stay, because they are the controller's legal record
(GDPR Art. 33(5), Art. 17(3)(b)) and name no one: the timeline carries counts and tenant ids,
never subject ids, and free-text facts must not name people (the API says so). Where they
do, what the register knows of the person (their id, their reporter details) is replaced with
`[erased]` in every free-text field (`breach.redaction`, O25).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from breach.redaction import identifiers_of, redact
from privacy_kit.db import rows_affected
from privacy_kit.protocol import RetentionRule
from privacy_kit.provider import DataCategory, ErasureScope, PrivacyProvider, TenantRecord

LEGAL_OBLIGATION = "legal obligation (GDPR Art. 33-34; Art. 28(3)(f) towards the client)"
# The links to people live as long as the person is known, and go with their erasure (O15).
WITH_THE_PERSON = RetentionRule(period="P0D", clock="account_closed")


class BreachProvider(PrivacyProvider):
    store = "breach"

    def inventory(self) -> list[DataCategory]:
        return [
            DataCategory(
                name="breach_affected_subjects",
                fields=["subject_id", "tenant_id"],
                purpose="Register breaches and notify affected organisations and people (O26-O28)",
                legal_basis=LEGAL_OBLIGATION,
                retention=WITH_THE_PERSON,
                retention_rule="until the person's erasure; per-tenant counts stay in the register",
                recipients=["the affected client organisation", "Autoriteit Persoonsgegevens"],
                data_subjects=["participants", "Beheerders", "website visitors"],
            ),
            DataCategory(
                name="breach_people_notices",
                fields=["subject_id", "tenant_id", "notified_at", "channel"],
                purpose="Record who was told of a high-risk breach, and when (GDPR Art. 34)",
                legal_basis=LEGAL_OBLIGATION,
                retention=WITH_THE_PERSON,
                retention_rule="until the person's erasure; the count stays in the register",
                recipients=["Autoriteit Persoonsgegevens"],
                data_subjects=["participants", "Beheerders"],
            ),
            DataCategory(
                name="breach_reporter_contacts",
                fields=["name", "email", "phone", "organisation", "role", "subject_id"],
                purpose="Reach whoever reported a breach with questions",
                legal_basis="legitimate interest (investigating the breach)",
                retention=WITH_THE_PERSON,
                retention_rule="until the reporter's erasure",
                recipients=["platform DPO and operators"],
                data_subjects=["reporters (staff, Beheerders, participants, outsiders)"],
                role="controller",
            ),
            DataCategory(
                name="authority_disclosure_subjects",
                fields=["subject_id", "tenant_id"],
                purpose="Record disclosures to authorities and inform the client (O30)",
                legal_basis="legal obligation (the authority's legal demand)",
                retention=WITH_THE_PERSON,
                retention_rule="until the person's erasure; the disclosure record and count stay",
                recipients=["the client organisation, unless a legal ground forbids it"],
                data_subjects=["participants", "Beheerders"],
            ),
            DataCategory(
                name="breach_register",
                fields=["facts (no names)", "assessment", "timeline (actor ids of staff and "
                        "Beheerders)", "tenant notices", "authority reports"],
                purpose="Document every breach (GDPR Art. 33(5))",
                legal_basis="legal obligation (GDPR Art. 33(5))",
                retention=RetentionRule(period="P5Y", clock="record_created"),
                retention_rule="kept as evidence for the supervisory authority, five years",
                recipients=["Autoriteit Persoonsgegevens", "auditors"],
                data_subjects=["platform staff and Beheerders (actor ids in the timeline)"],
                role="controller",
            ),
        ]

    async def export(self, conn: asyncpg.Connection, subject_id: str) -> dict[str, Any]:
        affected = await conn.fetch(
            """SELECT b.id AS breach_id, b.title, b.discovered_at, b.facts -> 'nature' AS nature,
                      b.facts -> 'data_categories' AS data_categories, a.tenant_id, a.added_at
               FROM breach_affected_subject a JOIN breach b ON b.id = a.breach_id
               WHERE a.subject_id = $1 ORDER BY a.added_at""",
            subject_id,
        )
        told = await conn.fetch(
            """SELECT breach_id, channel, notified_at FROM breach_people_notice
               WHERE subject_id = $1 ORDER BY notified_at""", subject_id)
        reported = await conn.fetch(
            """SELECT breach_id, name, email, phone, organisation, role FROM breach_reporter
               WHERE subject_id = $1""", subject_id)
        disclosed = await conn.fetch(
            """SELECT d.id, d.authority, d.what, d.data_categories, d.legal_basis, d.disclosed_at
               FROM authority_disclosure_subject s JOIN authority_disclosure d ON d.id = s.disclosure_id
               WHERE s.subject_id = $1
                 AND (d.secrecy_ground IS NULL OR d.secrecy_lifted_at IS NOT NULL)""", subject_id)
        return {
            "breaches_affecting_you": [
                {**dict(r), "nature": _json(r["nature"]), "data_categories": _json(r["data_categories"])}
                for r in affected],
            "breach_notices_sent_to_you": [dict(r) for r in told],
            "breaches_you_reported": [dict(r) for r in reported],
            "disclosures_to_authorities": [dict(r) for r in disclosed],
            "purpose": self.inventory()[0].purpose,
            "source": "the platform's breach register",
        }

    async def export_tenant(
        self, conn: asyncpg.Connection, tenant_id: str
    ) -> AsyncIterator[TenantRecord]:
        for category, table, sql in (
            ("breach_affected_subjects", "affected_subject",
             """SELECT a.breach_id, b.title AS breach, b.discovered_at, a.subject_id
                FROM breach_affected_subject a JOIN breach b ON b.id = a.breach_id
                WHERE a.tenant_id = $1 ORDER BY b.discovered_at, a.subject_id"""),
            ("breach_register", "notification",
             """SELECT n.breach_id, b.title AS breach, n.affected_count, n.due_at, n.notified_at
                FROM breach_tenant_notification n JOIN breach b ON b.id = n.breach_id
                WHERE n.tenant_id = $1 ORDER BY n.due_at"""),
        ):
            async for row in conn.cursor(f"SELECT row_to_json(r)::text AS j FROM ({sql}) r",
                                         tenant_id, prefetch=2000):
                yield TenantRecord(category, table, row["j"])

    async def erase(self, conn: asyncpg.Connection, scope: ErasureScope) -> dict[str, int]:
        args: list[Any]
        if scope.kind == "subject" and scope.subject_id:
            where, args = "subject_id = $1", [scope.subject_id]
            held: set[str] = set()
        elif scope.kind == "tenant" and scope.tenant_id:
            where = "tenant_id = $1 AND (subject_id IS NULL OR NOT (subject_id = ANY($2::text[])))"
            args = [scope.tenant_id, scope.held_subject_ids]
            # Categories of this tenant under a legal hold stay (O17).
            held = set(scope.held_categories)
        else:
            return {}
        counts: dict[str, int] = {}
        if scope.kind == "subject" and scope.subject_id and "breach_register" not in held:
            # O25: free text naming the person goes before the reporter details that say how.
            redacted = await redact(conn, await identifiers_of(conn, scope.subject_id))
            if redacted:
                counts["breach_register"] = redacted
        # A subject erased while still pending (training-records was not asked yet) can never be
        # looked up: it counts as affected from now on, so the register's numbers stay whole.
        if "breach_affected_subjects" not in held:
            counts["breach_affected_subjects"] = int(await conn.fetchval(
                f"""WITH gone AS (DELETE FROM breach_affected_subject WHERE {where}
                                  RETURNING breach_id, lookup),
                         pending AS (SELECT breach_id, count(*)::int AS n FROM gone
                                     WHERE lookup = 'pending' GROUP BY breach_id),
                         moved AS (UPDATE breach b SET pending_subjects = b.pending_subjects - p.n,
                                                       affected_subjects = b.affected_subjects + p.n
                                   FROM pending p WHERE b.id = p.breach_id RETURNING 1)
                    SELECT count(*) FROM gone""", *args))
        for category, table in (("breach_people_notices", "breach_people_notice"),
                                ("breach_reporter_contacts", "breach_reporter"),
                                ("authority_disclosure_subjects", "authority_disclosure_subject")):
            if category in held:
                continue
            counts[category] = rows_affected(await conn.execute(
                f"DELETE FROM {table} WHERE {where}", *args))
        return counts


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value
