"""The hash chain of one subject's ledger: each record commits to the one before it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64

# Every column that says what happened; changing any of them breaks the chain.
HASHED_FIELDS = (
    "id", "subject_id", "chain_index", "purpose_id", "granted", "policy_version", "method",
    "actor_sub", "actor_role", "on_behalf", "tenant_id", "parental_consent_id", "gpc",
    "recorded_at", "prev_hash",
)


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


def record_hash(record: Mapping[str, Any]) -> str:
    payload = {name: _canonical(record[name]) for name in HASHED_FIELDS}
    encoded = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()


def verify(records: Sequence[Mapping[str, Any]]) -> list[tuple[Mapping[str, Any], str]]:
    """Problems found walking the chain in order, as (record, what is wrong)."""
    problems: list[tuple[Mapping[str, Any], str]] = []
    prev_hash = GENESIS
    for expected_index, record in enumerate(records):
        if record["chain_index"] != expected_index:
            problems.append((record, f"expected chain index {expected_index}: a record is missing"))
        if record["prev_hash"] != prev_hash:
            problems.append((record, "does not link to the previous record's hash"))
        if record_hash(record) != record["hash"]:
            problems.append((record, "its content no longer matches its hash: it was altered"))
        prev_hash = record["hash"]
    return problems
