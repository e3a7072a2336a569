"""Certificates: issued when a training is completed, kept as long as the account lives (O15)."""

from __future__ import annotations

import secrets
import uuid

import asyncpg

from privacy_kit.paging import PageParams
from privacy_kit.sorting import Ordering, SortOrder
from training_records.certificates.models import CertificateRead, CertificateVerification

# No 0/O/1/I: codes are read aloud and typed from paper.
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

_SELECT = """SELECT c.id, c.participant_id, c.training_id, t.title AS training,
                    c.verification_code, c.issued_at
             FROM certificate c JOIN training t ON t.id = c.training_id"""


def new_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(12))
    return "-".join(raw[i:i + 4] for i in range(0, 12, 4))


def normalise(code: str) -> str:
    raw = "".join(ch for ch in code.upper() if ch.isalnum())
    return "-".join(raw[i:i + 4] for i in range(0, len(raw), 4))


async def issue_if_completed(
    *, conn: asyncpg.Connection, tenant_id: uuid.UUID, participant_id: uuid.UUID,
    training_id: uuid.UUID,
) -> uuid.UUID | None:
    """A training is completed when every module is completed and the latest result passed."""
    done = await conn.fetchval(
        """SELECT NOT EXISTS (
                   SELECT 1 FROM training_module m
                   LEFT JOIN module_progress p ON p.module_id = m.id AND p.participant_id = $1
                   WHERE m.training_id = $2 AND p.completed_at IS NULL)
               AND coalesce((SELECT passed FROM result
                             WHERE participant_id = $1 AND training_id = $2
                             ORDER BY recorded_at DESC, id DESC LIMIT 1), false)""",
        participant_id, training_id)
    if not done:
        return None
    issued: uuid.UUID | None = await conn.fetchval(
        """INSERT INTO certificate (id, tenant_id, participant_id, training_id, verification_code)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (participant_id, training_id) DO NOTHING RETURNING id""",
        uuid.uuid4(), tenant_id, participant_id, training_id, new_code())
    return issued


ORDERING = Ordering({"issued_at": ("c.issued_at", "timestamptz")}, tiebreak=("c.id", "uuid"),
                    default="issued_at")


async def list_of(
    *, conn: asyncpg.Connection, participant_id: uuid.UUID, page: PageParams, sort: SortOrder,
) -> list[CertificateRead]:
    where, order_by, args = sort.keyset(page, first_param=2)
    rows = await conn.fetch(
        f"{_SELECT} WHERE c.participant_id = $1 AND {where} ORDER BY {order_by} "
        f"LIMIT {page.limit + 1}", participant_id, *args)
    return [CertificateRead(**dict(r)) for r in rows]


async def get(
    *, conn: asyncpg.Connection, participant_id: uuid.UUID, certificate_id: uuid.UUID
) -> CertificateRead | None:
    row = await conn.fetchrow(f"{_SELECT} WHERE c.participant_id = $1 AND c.id = $2",
                              participant_id, certificate_id)
    return CertificateRead(**dict(row)) if row else None


async def verify(*, conn: asyncpg.Connection, code: str) -> CertificateVerification:
    code = normalise(code)
    row = await conn.fetchrow(f"{_SELECT} WHERE c.verification_code = $1", code)
    if row is not None:
        return CertificateVerification(valid=True, status="valid", verification_code=code,
                                       training=row["training"], issued_at=row["issued_at"])
    erased = await conn.fetchrow(
        """SELECT training, issued_at, erased_at FROM erased_certificate
           WHERE code_hash = encode(sha256(convert_to($1, 'UTF8')), 'hex')""", code)
    if erased is not None:
        return CertificateVerification(
            valid=True, status="holder_erased", verification_code=code,
            training=erased["training"], issued_at=erased["issued_at"], holder_erased=True,
            erased_at=erased["erased_at"])
    return CertificateVerification(valid=False, status="unknown", verification_code=code)
