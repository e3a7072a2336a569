"""O5: the one rule every service applies to what people type: no BSN and no special-category
data (GDPR art. 9) unless the tenant has a separate written agreement for it.

BSN. A 9-digit number passes the BSN "11-proof" about one time in eleven, so the check looks at
context before it refuses:
- the text is normalised first: compatibility forms folded (NFKC) and every Unicode decimal
  digit (Arabic-Indic, full-width, ...) written as its ASCII digit;
- a *number-like run* is digits joined by up to three characters that are neither letters nor
  digits (spaces, dots, dashes, slashes, underscores, invisible spaces, ...); letters end a run;
  a run glued to letters (`A123456782`, `v2`) is a code, not a number, except inside an e-mail
  address (`jan123456782@example.org`, `jan.123456782@example.org`), where dots and dashes part
  words, so there only an unbroken group of digits is a candidate;
- within a run, any consecutive digit groups that together hold 9 digits are a candidate (8 with
  the word BSN near); a group is never split, so part of a longer number is no candidate, nor is
  the whole part of an amount (`123456782,50`), nor what follows a decimal mark or version dot
  (`v1.123456782`);
- the word BSN (burgerservicenummer, sofinummer) or a field named for it makes an 8- or 9-digit
  valid number a BSN; without it a 9-digit candidate is refused, except where it is a telephone
  number (a phone field, or right after a +31 / 0031 prefix);
- the 11-proof itself is python-stdnum's `stdnum.nl.bsn`.

Special categories. A curated list of Dutch and English terms per category, matched as whole
words on text folded to lower case without accents; `*` at the end of a term matches longer
words (`diabet*`: diabetes, diabetisch), at the start compounds (`*kanker`: borstkanker); the
words of a phrase may be joined by spaces, dashes or nothing (`burn out`, `burn-out`,
`burnout`). Terms that also have common innocent readings are left out on purpose ("geloof",
"kerk", "church", "race", "aids", "beperking", "fingerprint" on its own, a bare "health" or
"gezondheid" as in health-and-safety training): a missed hint costs less than refusing every
"Kerkstraat" and "Arbo en gezondheid" course.

A refusal is a 422 naming the field and the category, never the text. With the agreement the
input is accepted and `record_findings` keeps which field of which record held which category.
Where the agreement lives and how a service learns it: see `agreement_in_force`.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from stdnum.nl import bsn as stdnum_bsn

from privacy_kit.auth import mint_service_token
from privacy_kit.errors import ApiError
from privacy_kit.i18n import tr
from privacy_kit.settings import ServiceSettings

log = logging.getLogger(__name__)

BSN = "bsn"

# --- normalisation ---------------------------------------------------------------------------


def ascii_digits(text: str) -> str:
    """`text` with compatibility forms folded and every decimal digit as an ASCII digit."""
    folded = unicodedata.normalize("NFKC", text)
    if folded.isascii():
        return folded
    return "".join(
        str(value) if (value := unicodedata.decimal(ch, None)) is not None else ch
        for ch in folded
    )


def _folded_words(text: str) -> str:
    """Lower case, accents removed (`oriëntatie` -> `orientatie`), for the word lists."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


# --- BSN -------------------------------------------------------------------------------------

_KEYWORDS = re.compile(
    r"\b(bsn|burger\s*service\s*nummer|burgerservicenummer|sofi[\s-]*nummer|sofinummer|"
    r"citizen\s+service\s+number)\b",
    re.IGNORECASE,
)
_FIELD_NAMES = re.compile(r"bsn|burgerservice|sofi|citizen_service", re.IGNORECASE)
_PHONE_FIELDS = re.compile(r"phone|telefoon|mobile|mobiel", re.IGNORECASE)
_PHONE_PREFIX = re.compile(r"(\+31|0031)[\s-]*\(?0?\)?[\s-]*$")
# Up to three characters that are neither letters nor digits (underscore counts as one).
_SEPARATOR = r"(?:[^\w\r\n]|_){1,3}"
_RUN = re.compile(rf"[0-9]+(?:{_SEPARATOR}[0-9]+)*")
_GROUP = re.compile(r"[0-9]+")
_DECIMAL_MARK = re.compile(r"[.,]")


@dataclass(frozen=True)
class _Group:
    start: int
    end: int
    digits: str


def _candidates(text: str, lengths: tuple[int, ...]) -> Iterator[tuple[int, str]]:
    """(start, digits) of every run of whole digit groups holding one of `lengths` digits."""
    for run in _RUN.finditer(text):
        in_email = _in_email(text, run.start(), run.end())
        if _glued_to_letters(text, run.start(), run.end()) and not in_email:
            continue  # a code such as A123456782 or v2
        groups = [_Group(run.start() + g.start(), run.start() + g.end(), g.group())
                  for g in _GROUP.finditer(run.group())]
        for i, first in enumerate(groups):
            if i > 0 and _DECIMAL_MARK.fullmatch(text[groups[i - 1].end:first.start]):
                continue  # the digits after a decimal mark or version dot: no number of their own
            digits = ""
            # In an e-mail address dots and dashes part words: a BSN there is one digit group.
            for j in range(i, i + 1 if in_email else len(groups)):
                digits += groups[j].digits
                if len(digits) > max(lengths):
                    break
                last_of_amount = j + 1 < len(groups) and _is_decimal_mark(
                    text, groups[j], groups[j + 1])
                if len(digits) in lengths and not last_of_amount:
                    yield first.start, digits


def _glued_to_letters(text: str, start: int, end: int) -> bool:
    return (start > 0 and text[start - 1].isalpha()) or (end < len(text) and text[end].isalpha())


def _in_email(text: str, start: int, end: int) -> bool:
    """Whether the run sits in a word with an @ (an e-mail address)."""
    left = max(text.rfind(c, 0, start) for c in " \t\r\n,;<>()") + 1
    rights = [i for i in (text.find(c, end) for c in " \t\r\n,;<>()") if i >= 0]
    return "@" in text[left:min(rights, default=len(text))]


def _is_decimal_mark(text: str, before: _Group, after: _Group) -> bool:
    """`123456782,50`: a single dot or comma followed by one or two digits ending the run."""
    between = text[before.end:after.start]
    return bool(_DECIMAL_MARK.fullmatch(between)) and len(after.digits) <= 2 and (
        after.end == len(text) or (not text[after.end].isdigit() and not (
            text[after.end] in ".,-" and after.end + 1 < len(text)
            and text[after.end + 1].isdigit())))


def find_bsn(field: str, text: str) -> bool:
    """Does `text`, the value of `field`, contain a valid BSN in a context that makes it one?"""
    text = ascii_digits(text)
    keyword = bool(_KEYWORDS.search(text)) or bool(_FIELD_NAMES.search(field))
    phone_field = bool(_PHONE_FIELDS.search(field))
    for start, digits in _candidates(text, (8, 9) if keyword else (9,)):
        if not stdnum_bsn.is_valid(digits):
            continue
        if keyword:
            return True
        if phone_field or _PHONE_PREFIX.search(text[:start]):
            continue
        return True
    return False


# --- special categories ----------------------------------------------------------------------

SPECIAL_CATEGORIES: dict[str, tuple[str, ...]] = {
    "health": (
        "ziek", "zieke", "ziekte", "ziektes", "ziekten", "ziekteverzuim", "ziekmelding*",
        "ziekgemeld", "ziek gemeld", "ziekteverlof", "chronisch ziek", "arbeidsongeschikt*",
        "diagnose", "diagnoses", "gediagnosticeerd", "diagnosis", "diagnosed", "illness*",
        "disease*", "sick leave", "sick note", "chronically ill", "*kanker", "cancer", "tumor",
        "tumour", "diabet*", "depressie", "depressief", "depression", "depressed",
        "burn out", "overspannen", "epilep*", "autis*", "adhd", "hiv", "zwanger*", "pregnan*",
        "gehandicapt*", "handicap*", "disabled", "disability", "disabilities", "medicatie",
        "medicijn*", "medication*", "psychiatr*", "verslav*", "addiction*", "addicted",
        "alcoholis*", "allergie*", "allergisch", "allergy", "allergies", "allergic", "astma",
        "asthma", "hartaanval", "heart attack", "dementie", "dementia", "schizofren*",
        "schizophren*", "bipolair", "bipolar", "anorexia", "boulimia", "bulimia", "dyslexie",
        "dyslexia", "covid*", "doof", "deaf",
    ),
    "religion": (
        "religie", "religies", "religieus", "religieuze", "religion*", "religious", "gelovig*",
        "moslim*", "muslim*", "islam*", "christen", "christenen", "christelijk*",
        "christianity", "katholiek*", "catholic*", "protestant*", "hervormd*",
        "gereformeerd*", "joods", "jood", "joden", "jewish", "judaism", "jodendom", "hindoe*",
        "hindu*", "boeddhis*", "buddhis*", "sikh*", "atheist*", "atheism", "agnost*",
        "moskee*", "mosque*", "synagoge*", "synagogue*", "kerkganger*", "churchgoer*",
        "ramadan", "jehova*",
    ),
    "ethnicity": (
        "etniciteit", "etnisch*", "ethnic*", "afkomst", "racial", "raciaal", "raciale",
        "huidskleur", "skin colour", "skin color", "allochto*", "autochto*",
        "migratieachtergrond", "migration background",
    ),
    "political_opinion": (
        "politieke voorkeur*", "politieke overtuiging*", "politieke kleur",
        "politieke partij*", "politieke opvatting*", "political opinion*", "political view*",
        "political affiliation*", "political part*", "political belief*", "partijlid*",
        "party member*", "stemt op", "gestemd op", "votes for", "voted for", "pvv", "vvd",
        "pvda", "cda", "d66", "groenlinks", "fvd", "sgp", "christenunie",
        "partij voor de dieren", "communist*", "fascist*",
    ),
    "sexual_orientation": (
        "seksuele geaardheid", "seksuele voorkeur", "seksuele orientatie",
        "sexual orientation", "sexual preference", "homoseksu*", "homosexu*", "homofiel*",
        "homo", "gay", "gays", "lesbi*", "biseksu*", "bisexu*", "heteroseksu*",
        "heterosexu*", "queer", "lhbt*", "lgbt*", "transgender*", "non binair", "non binary",
    ),
    "criminal_past": (
        "strafblad*", "criminal record*", "criminal past", "criminal conviction*",
        "strafrechtelijk*", "veroordeeld", "veroordeling*", "convicted", "gevangenis*",
        "prison*", "jail*", "gedetineerd*", "detentie", "taakstraf*", "reclassering",
        "misdrijf", "misdrijven", "crimineel", "criminele", "gearresteerd", "arrested",
    ),
    "trade_union": (
        "vakbond*", "vakvereniging*", "trade union*", "labour union*", "labor union*",
        "union member*", "fnv", "cnv",
    ),
    "biometric": (
        "biometri*", "vingerafdruk*", "fingerprint scan*", "fingerprint template*",
        "gezichtsherkenning", "facial recognition", "face recognition", "gezichtsscan*",
        "face scan*", "irisscan*", "iris scan*", "retinascan*", "retina scan*",
        "stemherkenning", "voiceprint*", "dna profiel*", "dna profile*", "dna test*",
        "genetische gegevens", "genetic data", "genetische test*", "genetic test*",
    ),
}
CATEGORY_NAMES: dict[str, str] = {
    "health": "health", "religion": "religion or belief", "ethnicity": "ethnic origin",
    "political_opinion": "political opinion", "sexual_orientation": "sexual orientation",
    "criminal_past": "criminal past", "trade_union": "trade union membership",
    "biometric": "biometric or genetic data", BSN: "BSN",
}


def _term_pattern(term: str) -> str:
    words = _folded_words(term).split()
    parts = []
    for word in words:
        core = re.escape(word.strip("*"))
        parts.append(("[^\\W_]*" if word.startswith("*") else "") + core
                     + ("[^\\W_]*" if word.endswith("*") else ""))
    return "[\\W_]*".join(parts)


_CATEGORY_PATTERNS: dict[str, re.Pattern[str]] = {
    category: re.compile(
        r"(?<![^\W_])(?:" + "|".join(_term_pattern(t) for t in terms) + r")(?![^\W_])")
    for category, terms in SPECIAL_CATEGORIES.items()
}


_EMAIL = re.compile(r"\S+@\S+")


def special_categories_in(text: str) -> list[str]:
    """The special categories `text` speaks of, in the order of `SPECIAL_CATEGORIES`. E-mail
    addresses are left out: `d66.jansen@...` names no party."""
    folded = _folded_words(_EMAIL.sub(" ", text))
    return [c for c, pattern in _CATEGORY_PATTERNS.items() if pattern.search(folded)]


# --- walking input ---------------------------------------------------------------------------


def walk_strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every text value in a JSON-like structure (keys too), with a dotted path naming its field."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            yield from walk_strings(item, where)
            yield from walk_strings(str(key), where)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from walk_strings(item, f"{path}[{index}]")
    elif isinstance(value, int) and not isinstance(value, bool):
        yield path, str(value)


@dataclass(frozen=True)
class Finding:
    """A field of the input held data of `category` ("bsn" or a key of SPECIAL_CATEGORIES)."""

    field: str
    category: str


def bsn_fields(value: Any) -> list[str]:
    """The fields of `value` that carry a BSN, in order, without repeats."""
    found: list[str] = []
    for path, text in walk_strings(value):
        if path not in found and find_bsn(path, text):
            found.append(path)
    return found


def screen(value: Any, *, special: bool = True) -> list[Finding]:
    """Every (field, category) of `value` that holds a BSN or special-category data."""
    found = [Finding(field, BSN) for field in bsn_fields(value)]
    if special:
        for path, text in walk_strings(value):
            for category in special_categories_in(text):
                finding = Finding(path, category)
                if finding not in found:
                    found.append(finding)
    return found


# --- refusing --------------------------------------------------------------------------------


def refusal(findings: Sequence[Finding]) -> ApiError:
    """The 422 for `findings` (not empty): the BSN one first, as a BSN is refused outright."""
    refused = [f for f in findings if f.category == BSN] or list(findings)
    if refused[0].category == BSN:
        code, details = "bsn_not_allowed", [{"field": f.field, "message": "contains a BSN"}
                                            for f in refused]
        message = tr("The field {fields} contains what is a Dutch citizen service number (BSN). "
                     "A BSN may only be stored when your organisation has a separate written "
                     "agreement for it; remove it and try again.",
                     fields=", ".join(f"'{f.field}'" for f in refused))
    else:
        code, details = "special_category_not_allowed", [
            {"field": f.field, "category": f.category,
             "message": f"holds {CATEGORY_NAMES[f.category]} data"} for f in refused]
        message = tr("The field {fields} holds what reads as special-category personal data. It "
                     "may only be stored when your organisation has a separate written agreement "
                     "for it; leave it out and try again.",
                     fields="; ".join(f"'{f.field}' ({CATEGORY_NAMES[f.category]})"
                                      for f in refused))
    return ApiError(422, code, message, details=details)


def check(value: Any, *, allowed: bool, special: bool = True) -> list[Finding]:
    """Raise the 422 when `value` holds a BSN or special-category data and the tenant has no
    agreement; with one, return the findings for `record_findings`."""
    findings = screen(value, special=special)
    if findings and not allowed:
        raise refusal(findings)
    return findings


def refuse_bsn(value: Any, *, allowed: bool) -> None:
    """The BSN half of `check` (for input that may hold nothing but a BSN of concern)."""
    if not allowed and (fields := bsn_fields(value)):
        raise refusal([Finding(field, BSN) for field in fields])


# --- the agreement, held by training-records -------------------------------------------------


@dataclass(frozen=True)
class Screened:
    findings: list[Finding]
    agreement_id: str | None


async def agreement_in_force(settings: ServiceSettings, tenant_id: str | None) -> str | None:
    """The id of the tenant's special-category agreement in force, or None.

    Training-records owns tenants and so their agreements (staff record them there, with date,
    document reference and who entered it). Other services ask it over HTTP with a service
    token, `GET /internal/tenants/{id}/special-category-agreement`, and only when the input did
    hold something, so the answer is always current and no replica goes stale. When it cannot
    answer, the input is not taken (503): without proof of an agreement nothing special is kept.
    """
    if not tenant_id:
        return None
    url = settings.store_urls.get("training-records")
    if not url:
        raise _agreement_unknown()
    try:
        async with httpx.AsyncClient(
            base_url=url, timeout=5.0,
            headers={"Authorization": f"Bearer {mint_service_token(settings)}"},
        ) as client:
            response = await client.get(f"/internal/tenants/{tenant_id}/special-category-agreement")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        agreement = response.json().get("agreement_id")
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        log.warning("training-records could not say whether tenant %s has a special-category "
                    "agreement (%s)", tenant_id, type(exc).__name__)
        raise _agreement_unknown() from exc
    return str(agreement) if agreement else None


def _agreement_unknown() -> ApiError:
    return ApiError(503, "agreement_unknown", tr(
        "This text reads as special-category data or a BSN, and whether your organisation has "
        "the written agreement for it cannot be checked right now. Try again later, or leave it "
        "out."))


async def check_for_tenant(
    settings: ServiceSettings, value: Any, *, tenant_id: str | None, special: bool = True
) -> Screened:
    """`check` for a service that does not hold tenants: asks training-records for the
    agreement only when the input holds something."""
    findings = screen(value, special=special)
    if not findings:
        return Screened([], None)
    agreement = await agreement_in_force(settings, tenant_id)
    if agreement is None:
        raise refusal(findings)
    return Screened(findings, agreement)


async def record_findings(
    conn: asyncpg.Connection, findings: Sequence[Finding], *, record_kind: str,
    record_id: Any, tenant_id: Any, subject_id: Any = None, agreement_id: Any = None,
) -> None:
    """Keep which field of which record held which category (never the text), in the kit's
    `special_category_finding` table, erased and exported with the person."""
    if not findings:
        return
    await conn.executemany(
        """INSERT INTO special_category_finding
               (record_kind, record_id, tenant_id, subject_id, field, category, agreement_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        [(record_kind, str(record_id), _text(tenant_id), _text(subject_id), f.field,
          f.category, _text(agreement_id)) for f in findings],
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


async def subject_findings(conn: asyncpg.Connection, subject_id: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT record_kind, record_id, field, category, found_at
           FROM special_category_finding WHERE subject_id = $1 ORDER BY id""", subject_id)
    return [{**dict(r), "found_at": r["found_at"].isoformat()} for r in rows]


async def forget_subject_findings(conn: asyncpg.Connection, subject_id: str) -> int:
    status = await conn.execute(
        "DELETE FROM special_category_finding WHERE subject_id = $1", subject_id)
    return int(status.split()[-1])


async def forget_tenant_findings(
    conn: asyncpg.Connection, tenant_id: str, *, keep_subjects: Sequence[str] = ()
) -> int:
    status = await conn.execute(
        """DELETE FROM special_category_finding WHERE tenant_id = $1
           AND (subject_id IS NULL OR NOT subject_id = ANY($2::text[]))""",
        tenant_id, list(keep_subjects))
    return int(status.split()[-1])


# --- O6: dates on the Dutch calendar ---------------------------------------------------------

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
MINIMUM_AGE = 16


def amsterdam_today(now: datetime | None = None) -> date:
    """The date in the Netherlands now: a child turns 16 at midnight Amsterdam time."""
    return (now or datetime.now(UTC)).astimezone(AMSTERDAM).date()


def age_on(birth_date: date, today: date) -> int:
    before_birthday = (today.month, today.day) < (birth_date.month, birth_date.day)
    return today.year - birth_date.year - int(before_birthday)


def is_under_16(birth_date: date, now: datetime | None = None) -> bool:
    return age_on(birth_date, amsterdam_today(now)) < MINIMUM_AGE


def strict_date_text(value: Any) -> Any:
    """A pydantic `BeforeValidator` for dates that must arrive as ISO text: an integer (0 would
    become 1970-01-01) or a float is refused, not read as a Unix time."""
    if isinstance(value, date | datetime | str):
        return value
    raise ValueError("give a date as text, e.g. '2026-01-05'")


def up_to_today(refusal: str) -> Callable[[date], date]:
    """A pydantic `AfterValidator`: the date is not after today in the Netherlands, else
    `refusal` (e.g. a verification or a signature cannot lie in the future). With
    `strict_date_text` before it: `Annotated[date, BeforeValidator(strict_date_text),
    AfterValidator(up_to_today("..."))]`."""

    def check(value: date) -> date:
        if value > amsterdam_today():
            raise ValueError(refusal)
        return value

    return check
