"""Dead letters are personal data too (O25): the kit's erasure handler forgets them.

A dead letter keeps the failed record's bytes, whose envelope names the subject and tenant by
their pseudonymous ids. Erasing a subject deletes every dead letter whose record or error text
carries the subject's id; erasing a tenant deletes those that carry the tenant's id, except the
ones naming a subject a legal hold keeps. Matched on the bytes, not on the parsed envelope, so
records that never parsed (the very reason some are dead) are found as well. The table is
small (failures wait for an operator), so a scan costs nothing worth an index.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from privacy_kit.db import rows_affected

__all__ = ["forget_dead_letters"]

_NAMES = """(position(convert_to({p}, 'UTF8') in coalesce(payload, ''::bytea)) > 0
             OR strpos(error, {p}) > 0)"""


async def forget_dead_letters(
    conn: asyncpg.Connection, *, subject_id: str | None = None, tenant_id: str | None = None,
    keep_subjects: Sequence[str] = (),
) -> int:
    """Delete the dead letters naming this subject (or, without one, this tenant); returns how
    many went."""
    if subject_id:
        status = await conn.execute(
            f"DELETE FROM dead_letter WHERE {_NAMES.format(p='$1::text')}", subject_id)
    elif tenant_id:
        status = await conn.execute(
            f"""DELETE FROM dead_letter d WHERE {_NAMES.format(p='$1::text')}
                AND NOT EXISTS (SELECT 1 FROM unnest($2::text[]) k
                                WHERE {_NAMES.format(p='k')})""",
            tenant_id, list(keep_subjects))
    else:
        return 0
    return rows_affected(status)
