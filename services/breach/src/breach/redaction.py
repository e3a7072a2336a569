"""O25: free text in the register about a person who is erased is redacted with them.

The facts, assessment, timeline and reports are the controller's legal record and stay
(GDPR Art. 33(5)); their free text must not name people (the API says so), but it may, e.g.
when a reporter writes their own name or a subject id into the description. On a subject's
erasure the register replaces every occurrence of what it knows identifies that person, as a
whole word and in any case, with `[erased]`: the subject id and the name, e-mail address and
phone number they gave as a reporter. A name the register never held (e.g. an affected
participant's, which only training-records knows) cannot be matched here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import asyncpg

from privacy_kit.db import rows_affected

REDACTED = "[erased]"
# Every free-text column of the register: (table, column, is_jsonb).
FREE_TEXT: tuple[tuple[str, str, bool], ...] = (
    ("breach", "title", False),
    ("breach", "facts", True),
    ("breach", "assessment", True),
    ("breach_timeline", "data", True),
    ("breach_authority_notification", "delay_reason", False),
    ("authority_disclosure", "what", False),
    ("authority_disclosure", "not_informed_reason", False),
)
# Shorter strings would match ordinary words.
MIN_LENGTH = 3


def _pattern(needle: str) -> str:
    """A PostgreSQL regular expression matching the needle as a whole word, literally."""
    literal = "".join(f"\\{c}" if c.isascii() and not c.isalnum() else c for c in needle)
    return f"(?<![[:alnum:]_@.-]){literal}(?![[:alnum:]_@-])"


async def identifiers_of(conn: asyncpg.Connection, subject_id: str) -> list[str]:
    """What the register knows names this person: their id and their reporter details."""
    rows = await conn.fetch(
        "SELECT name, email, phone FROM breach_reporter WHERE subject_id = $1", subject_id)
    found = {subject_id, *(v for r in rows for v in (r["name"], r["email"], r["phone"]))}
    return sorted((v.strip() for v in found if v and len(v.strip()) >= MIN_LENGTH),
                  key=len, reverse=True)


async def redact(conn: asyncpg.Connection, needles: Iterable[str]) -> int:
    """Replace each needle in every free-text column; returns the number of rows changed."""
    changed = 0
    # The timeline is append-only but for this (migration 0003), within this transaction.
    await conn.execute("SELECT set_config('breach.erasure_redaction', 'on', true)")
    for needle in needles:
        for table, column, is_json in FREE_TEXT:
            # In JSON text the needle appears with JSON's escapes.
            text = json.dumps(needle, ensure_ascii=False)[1:-1] if is_json else needle
            value = f"{column}::text" if is_json else column
            replaced = f"regexp_replace({value}, $1, '{REDACTED}', 'gi')"
            status = await conn.execute(
                f"""UPDATE {table} SET {column} = {replaced}{'::jsonb' if is_json else ''}
                    WHERE {value} ~* $1""", _pattern(text))
            changed += rows_affected(status)
    await conn.execute("SELECT set_config('breach.erasure_redaction', 'off', true)")
    return changed
