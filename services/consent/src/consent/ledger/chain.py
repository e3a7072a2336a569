"""The hash chain of one subject's ledger: each record commits to the one before it, and each
record's hash is sealed with a key the database does not hold (O11).

The chain (sha256 over canonical JSON, linked by `prev_hash`) shows a record was changed or
removed; on its own it does not stop someone with database rights from rewriting a whole chain
consistently, since anyone can recompute unkeyed hashes. The seal (HMAC-SHA256 of the record's
hash under `LEDGER_KEY`, from the service's settings) does: a rewritten record's new hash has no
valid seal, and because every hash covers the previous one, a seal vouches for the whole chain
up to its record.
"""

from __future__ import annotations

import hashlib
import hmac
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


def seal(key: str, record_hash: str) -> str:
    """The keyed seal of one record's hash."""
    return hmac.new(key.encode(), f"consent-ledger:{record_hash}".encode(), hashlib.sha256).hexdigest()


def verify(
    records: Sequence[Mapping[str, Any]], key: str | None = None
) -> list[tuple[Mapping[str, Any], str]]:
    """Problems found walking the chain in order, as (record, what is wrong). With `key`, every
    record must also carry the seal of its hash under that key."""
    problems: list[tuple[Mapping[str, Any], str]] = []
    prev_hash = GENESIS
    for expected_index, record in enumerate(records):
        if record["chain_index"] != expected_index:
            problems.append((record, f"expected chain index {expected_index}: a record is missing"))
        if record["prev_hash"] != prev_hash:
            problems.append((record, "does not link to the previous record's hash"))
        if record_hash(record) != record["hash"]:
            problems.append((record, "its content no longer matches its hash: it was altered"))
        if key is not None:
            if record["seal"] is None:
                problems.append((record, "it is not sealed with the ledger key"))
            elif not hmac.compare_digest(record["seal"], seal(key, record["hash"])):
                problems.append((record, "its seal does not match its hash: the chain was "
                                         "rewritten without the ledger key"))
        prev_hash = record["hash"]
    return problems
