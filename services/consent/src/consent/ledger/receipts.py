"""Consent receipts: ISO/IEC TS 27560 record fields, with the Kantara Consent Receipt names."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from consent.catalogue.service import text_in
from consent.i18n import tr
from consent.ledger.service import RECORD_COLUMNS
from consent.settings import Settings
from privacy_kit.errors import ApiError
from privacy_kit.i18n import Language

KANTARA_VERSION = "KI-CR-v1.1.0"


async def receipt_rows(
    *, conn: asyncpg.Connection, subject_id: str, record_id: uuid.UUID | None = None
) -> list[asyncpg.Record]:
    """A subject's consent records with what a receipt names (purpose, basis, policy), oldest
    first; one record when `record_id` is given."""
    return await conn.fetch(
        f"""SELECT {', '.join('r.' + c.strip() for c in RECORD_COLUMNS.split(','))},
                   p.name, p.description, p.translations,
                   p.legal_basis, p.vendors, p.direct_marketing, p.default_granted,
                   v.url AS policy_url, v.effective_date AS policy_effective_date
            FROM consent_record r JOIN purpose p ON p.id = r.purpose_id
            JOIN policy_version v ON v.version = r.policy_version
            WHERE r.subject_id = $1 AND ($2::uuid IS NULL OR r.id = $2)
            ORDER BY r.chain_index""",
        subject_id, record_id,
    )


async def receipt(
    *, conn: asyncpg.Connection, settings: Settings, subject_id: str, record_id: uuid.UUID,
    language: Language = "en",
) -> dict[str, Any]:
    rows = await receipt_rows(conn=conn, subject_id=subject_id, record_id=record_id)
    if not rows:
        raise ApiError(404, "record_not_found",
                       tr("This person has no consent record with that id."))
    return build_receipt(rows[0], settings, language)


def controllers(row: Any, settings: Settings, language: Language) -> list[dict[str, Any]]:
    """Who decides over this consent (O1): for a client organisation's participant that
    organisation, with the platform as its processor; for the platform's own visitors and
    customers, the platform itself."""
    platform = {"pii_controller": settings.controller_name, "contact": settings.controller_contact}
    tenant = row["tenant_id"]
    if not tenant:
        return [{**platform, "role": "controller", "on_behalf": False}]
    return [
        {"pii_controller": tr("Client organisation {tenant}", tenant=tenant).in_language(language),
         "tenant_id": tenant, "role": "controller", "on_behalf": False,
         "contact": tr("via the Beheerder of your organisation").in_language(language)},
        {**platform, "role": "processor", "on_behalf": True},
    ]


def build_receipt(row: Any, settings: Settings, language: Language = "en") -> dict[str, Any]:
    withdraw_api = f"PUT /v1/subjects/{row['subject_id']}/consents/{row['purpose_id']}"
    text = text_in(row, language)
    return {
        "schema": "ISO/IEC TS 27560:2023 consent record; Kantara Consent Receipt v1.1",
        "version": KANTARA_VERSION,
        "record_id": str(row["id"]),
        "consent_receipt_id": str(row["id"]),
        "jurisdiction": settings.jurisdiction,
        "language": language,
        "consent_timestamp": row["recorded_at"].isoformat(),
        "collection_method": row["method"],
        "pii_principal_id": row["subject_id"],
        "pii_controllers": controllers(row, settings, language),
        "policy": {
            "version": row["policy_version"],
            "url": row["policy_url"],
            "effective_date": row["policy_effective_date"].isoformat(),
        },
        "policy_url": row["policy_url"],
        "purpose": {
            "id": row["purpose_id"],
            "name": text.name,
            "description": text.description,
            "legal_basis": row["legal_basis"],
            "direct_marketing": row["direct_marketing"],
            "consent_type": "opt-out" if row["default_granted"] else "explicit",
            "third_party_disclosure": bool(row["vendors"]),
            "third_party_names": list(row["vendors"]),
            "termination": tr("until withdrawn").in_language(language),
        },
        "legal_basis": row["legal_basis"],
        "consent_state": "given" if row["granted"] else "withdrawn",
        "gpc": row["gpc"],
        "actor": {
            "sub": row["actor_sub"],
            "role": row["actor_role"],
            "on_behalf": row["on_behalf"],
        },
        "sensitive": False,
        "how_to_withdraw": {
            "url": settings.withdrawal_url,
            "api": f'{withdraw_api} {{"granted": false}}',
            "note": tr("Withdrawal is as easy as giving and does not undo processing before "
                       "it.").in_language(language),
        },
        "proof": {
            "chain_index": row["chain_index"],
            "prev_hash": row["prev_hash"],
            "hash": row["hash"],
            "algorithm": "sha256 over canonical JSON of the record",
        },
    }
