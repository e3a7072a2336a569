"""O5: refuse input that carries a Dutch citizen service number (BSN).

A 9-digit number passes the BSN "11-proof" about one time in eleven, so the check looks at
context before it refuses:
- a token counts only when it stands alone (not part of a longer digit run, an IBAN or a
  decimal) and is written as 9 digits or in the usual 4.2.3 grouping (1234.56.782);
- the word BSN (burgerservicenummer, sofinummer) or a field named for it makes an 8- or 9-digit
  valid number a BSN, wherever it sits in the text;
- without that word, a standalone valid 9-digit token is refused, except where it is a
  telephone number (the phone field, or after a +31 / 0031 prefix).
Numbers that fail the 11-proof, have another length, or are part of a larger number pass.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from stdnum.nl import bsn

from privacy_kit.errors import ApiError

_KEYWORDS = re.compile(
    r"\b(bsn|burger\s*service\s*nummer|burgerservicenummer|sofi[\s-]*nummer|sofinummer|"
    r"citizen\s+service\s+number)\b",
    re.IGNORECASE,
)
_FIELD_NAMES = re.compile(r"bsn|burgerservice|sofi|citizen_service", re.IGNORECASE)
_PHONE_FIELDS = re.compile(r"phone|telefoon|mobile|mobiel", re.IGNORECASE)
# A digit group not glued to other digits, letters, or a decimal separator followed by digits.
_TOKEN = re.compile(r"(?<![\w.,])(\d{4}\.\d{2}\.\d{3}|\d{8,9})(?![\w]|[.,]\d)")
_PHONE_PREFIX = re.compile(r"(\+31|0031)[\s-]*\(?0?\)?[\s-]*$")


def find_bsn(field: str, text: str) -> bool:
    """Does `text`, the value of `field`, contain a valid BSN in a context that makes it one?"""
    keyword = bool(_KEYWORDS.search(text)) or bool(_FIELD_NAMES.search(field))
    for match in _TOKEN.finditer(text):
        digits = re.sub(r"\D", "", match.group(1))
        if not bsn.is_valid(digits):
            continue
        if keyword:
            return True
        if len(digits) != 9:
            continue
        if _PHONE_FIELDS.search(field) or _PHONE_PREFIX.search(text[: match.start()]):
            continue
        return True
    return False


def walk_strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every text value in a JSON-like structure, with a dotted path naming its field."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from walk_strings(item, f"{path}.{key}" if path else str(key))
            yield from walk_strings(str(key), f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from walk_strings(item, f"{path}[{index}]")
    elif isinstance(value, int) and not isinstance(value, bool):
        yield path, str(value)


def bsn_fields(value: Any) -> list[str]:
    """The fields of `value` that carry a BSN, in order, without repeats."""
    found: list[str] = []
    for path, text in walk_strings(value):
        if path not in found and find_bsn(path, text):
            found.append(path)
    return found


def bsn_refusal(fields: list[str]) -> ApiError:
    names = ", ".join(f"'{f}'" for f in fields)
    return ApiError(
        422,
        "bsn_not_allowed",
        f"The field {names} contains what is a Dutch citizen service number (BSN). A BSN may "
        "only be stored when your organisation has a separate written agreement for it; "
        "remove it and try again.",
        details=[{"field": f, "message": "contains a BSN"} for f in fields],
    )


def refuse_bsn(value: Any, *, allowed: bool) -> None:
    """Raise 422 naming the fields when `value` carries a BSN and the tenant may not store one."""
    if allowed:
        return
    fields = bsn_fields(value)
    if fields:
        raise bsn_refusal(fields)
