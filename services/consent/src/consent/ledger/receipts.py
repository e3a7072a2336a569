"""Consent receipts: ISO/IEC TS 27560 record fields, with the Kantara Consent Receipt names."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from consent.ledger.service import RECORD_COLUMNS
from consent.settings import Settings
from privacy_kit.errors import ApiError

KANTARA_VERSION = "KI-CR-v1.1.0"


async def receipt_rows(
    *, conn: asyncpg.Connection, subject_id: str, record_id: uuid.UUID | None = None
) -> list[asyncpg.Record]:
    """A subject's consent records with what a receipt names (purpose, basis, policy), oldest
    first; one record when `record_id` is given."""
    return await conn.fetch(
        f"""SELECT {', '.join('r.' + c.strip() for c in RECORD_COLUMNS.split(','))},
                   p.name AS purpose_name, p.description AS purpose_description,
                   p.legal_basis, p.vendors, p.direct_marketing, p.default_granted,
                   v.url AS policy_url, v.effective_date AS policy_effective_date
            FROM consent_record r JOIN purpose p ON p.id = r.purpose_id
            JOIN policy_version v ON v.version = r.policy_version
            WHERE r.subject_id = $1 AND ($2::uuid IS NULL OR r.id = $2)
            ORDER BY r.chain_index""",
        subject_id, record_id,
    )


async def receipt(
    *, conn: asyncpg.Connection, settings: Settings, subject_id: str, record_id: uuid.UUID
) -> dict[str, Any]:
    rows = await receipt_rows(conn=conn, subject_id=subject_id, record_id=record_id)
    if not rows:
        raise ApiError(404, "record_not_found", "This person has no consent record with that id.")
    return build_receipt(rows[0], settings)


def build_receipt(row: Any, settings: Settings) -> dict[str, Any]:
    withdraw_api = f"PUT /v1/subjects/{row['subject_id']}/consents/{row['purpose_id']}"
    return {
        "schema": "ISO/IEC TS 27560:2023 consent record; Kantara Consent Receipt v1.1",
        "version": KANTARA_VERSION,
        "record_id": str(row["id"]),
        "consent_receipt_id": str(row["id"]),
        "jurisdiction": settings.jurisdiction,
        "language": "nl",
        "consent_timestamp": row["recorded_at"].isoformat(),
        "collection_method": row["method"],
        "pii_principal_id": row["subject_id"],
        "pii_controllers": [{
            "pii_controller": settings.controller_name,
            "contact": settings.controller_contact,
            "on_behalf": False,
        }],
        "policy": {
            "version": row["policy_version"],
            "url": row["policy_url"],
            "effective_date": row["policy_effective_date"].isoformat(),
        },
        "policy_url": row["policy_url"],
        "purpose": {
            "id": row["purpose_id"],
            "name": row["purpose_name"],
            "description": row["purpose_description"],
            "legal_basis": row["legal_basis"],
            "direct_marketing": row["direct_marketing"],
            "consent_type": "opt-out" if row["default_granted"] else "explicit",
            "third_party_disclosure": bool(row["vendors"]),
            "third_party_names": list(row["vendors"]),
            "termination": "until withdrawn",
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
            "note": "Withdrawal is as easy as giving and does not undo processing before it.",
        },
        "proof": {
            "chain_index": row["chain_index"],
            "prev_hash": row["prev_hash"],
            "hash": row["hash"],
            "algorithm": "sha256 over canonical JSON of the record",
        },
    }
