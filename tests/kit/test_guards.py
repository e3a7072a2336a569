"""O5 and O6: the kit's guards on their own, both ways (no infrastructure needed)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

import pytest
from pydantic import BaseModel, BeforeValidator, ValidationError

from privacy_kit.errors import ApiError
from privacy_kit.guards import (
    Finding,
    amsterdam_today,
    ascii_digits,
    bsn_fields,
    check,
    find_bsn,
    is_under_16,
    screen,
    special_categories_in,
    strict_date_text,
)


@pytest.mark.parametrize(("field", "text"), [
    ("company", "111222333"),
    ("notes", "BSN: 111222333"),
    ("notes", "burgerservicenummer 1112.22.333"),
    ("notes", "bsn 11222335"),  # 8 digits: a BSN written without its leading zero
    ("bsn", "111222333"),
    ("notes", "mijn nummer is 123456782."),
    ("phone", "bsn 612345671"),  # the word wins even in a phone field
])
def test_o5_bsn_in_context_is_found(field: str, text: str) -> None:
    assert find_bsn(field, text)


@pytest.mark.parametrize(("field", "text"), [
    ("notes", "123456789"),  # fails the 11-proof
    ("notes", "11222335"),  # 8 digits without the word BSN
    ("phone", "612345671"),
    ("notes", "call +31 612345671"),
    ("notes", "0031-612345671"),
    ("notes", "NL91ABNA0417164300"),
    ("notes", "1234567820"),  # ten digits
    ("notes", "€ 123456782,00"),
    ("notes", "v1.123456782"),
    ("notes", "order A123456782"),
])
def test_o5_ordinary_numbers_are_not_taken_for_a_bsn(field: str, text: str) -> None:
    assert not find_bsn(field, text)


def test_o5_fields_are_named_with_their_path() -> None:
    value = {"name": "A", "address": {"city": "bsn 111222333"},
             "work_history": [{"role": "x"}, {"role": "111222333"}]}
    assert bsn_fields(value) == ["address.city", "work_history[1].role"]


# --- O5: formatting does not hide a BSN ----------------------------------------------------

@pytest.mark.parametrize(("field", "text"), [
    ("company", "123 456 782"),  # spaces
    ("company", "123-456-782"),  # dashes
    ("company", "123.456.782"),  # dots
    ("company", "123/456/782"),  # slashes
    ("company", "123_456_782"),  # underscores
    ("company", "1 2 3 4 5 6 7 8 2"),  # a digit at a time
    ("company", "123 - 456 - 782"),  # several separator characters
    ("company", "123\u00a0456\u00a0782"),  # non-breaking spaces
    ("company", "123\u200b456\u200b782"),  # zero-width spaces
    ("company", "123\u2013456\u2013782"),  # en dashes
    ("company", "\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0662"),  # Arabic-Indic
    ("company", "\u06f1\u06f2\u06f3\u06f4\u06f5\u06f6\u06f7\u06f8\u06f2"),  # Persian
    ("company", "\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff12"),  # full-width
    ("company", "\u0967\u0968\u0969 \u096a\u096b\u096c \u096d\u096e\u0968"),  # Devanagari
    ("email", "123456782@example.org"),  # in an e-mail address
    ("email", "jan.123456782@example.org"),
    ("email", "jan123456782@example.org"),
    ("notes", "mail 123456782@example.org, thanks"),
    ("notes", "111222333, 123456782"),  # the first of a list
    ("notes", "zie 123456782."),
])
def test_o5_bsn_written_in_any_format_is_found(field: str, text: str) -> None:
    assert find_bsn(field, text), text


@pytest.mark.parametrize(("field", "text"), [
    ("phone", "06 123 456 71"),  # the phone exception survives normalisation
    ("notes", "+31 6 1234 5678"),
    ("notes", "+31 (0)20 123 4567"),
    ("notes", "2026-01-05T10:00:00Z"),  # a timestamp
    ("notes", "05-01-2026 10:45"),
    ("notes", "\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669"),  # fails the 11-proof
    ("notes", "123 456 789"),  # fails the 11-proof
    ("notes", "NL91 ABNA 0417 1643 00"),  # an IBAN in groups
    ("email", "d221.048753@example.org"),  # two numbers in an e-mail address
])
def test_o5_normalisation_keeps_ordinary_numbers_apart(field: str, text: str) -> None:
    assert not find_bsn(field, text), text


def test_o5_unicode_digits_become_ascii() -> None:
    assert ascii_digits("\u0661\u0662\u0663 \uff14\uff15") == "123 45"
    assert ascii_digits("plain 123") == "plain 123"


# --- O5: special categories ----------------------------------------------------------------

@pytest.mark.parametrize(("text", "category"), [
    ("Heeft diabetes type 2", "health"),
    ("Sinds maart ziek gemeld", "health"),
    ("borstkanker in 2024", "health"),
    ("Recovering from a burn-out", "health"),
    ("She is pregnant", "health"),
    ("Is moslim", "religion"),
    ("Catholic, goes to mass", "religion"),
    ("Atheïst", "religion"),
    ("Marokkaanse afkomst", "ethnicity"),
    ("ethnic minority", "ethnicity"),
    ("Lid van de PVV", "political_opinion"),
    ("political views: left", "political_opinion"),
    ("Zijn seksuele oriëntatie", "sexual_orientation"),
    ("openly gay", "sexual_orientation"),
    ("heeft een strafblad", "criminal_past"),
    ("convicted of fraud in 2019", "criminal_past"),
    ("vakbondslid", "trade_union"),
    ("member of a trade union", "trade_union"),
    ("lid van de FNV", "trade_union"),
    ("vingerafdrukken opgeslagen", "biometric"),
    ("uses facial recognition at the gate", "biometric"),
])
def test_o5_special_categories_are_found_in_dutch_and_english(text: str, category: str) -> None:
    assert category in special_categories_in(text)


@pytest.mark.parametrize("text", [
    "Kerkstraat 1, Amsterdam",  # a street, not a church-goer
    "Christiaan Huygensplein 3",
    "Christian de Vries",  # a first name
    "Health and safety training (VCA)",
    "Arbo en gezondheid op de werkvloer",
    "Medisch Centrum Leeuwarden",
    "Homogeen mengsel",  # not 'homo'
    "Member states of the European Union",
    "Het zit in ons DNA",
    "A race condition in the scheduler",
    "Ik geloof dat dit klopt",
    "Beperking van de verwerking (art. 18)",
    "Visual aids for the classroom",
    "Diagnostic tools for networks",
    "SSH key fingerprint rotated",
    "Criminology course 2012",  # not 'crimineel'
    "Unionised? No: Union Street 4",
    "Genetica (BSc) at the VU",
    "Politics of the EU, a module",
    "d66.3fa9c1@example.org",  # an e-mail address names no party
])
def test_o5_special_category_words_do_not_hit_innocent_text(text: str) -> None:
    assert special_categories_in(text) == []


def test_o5_screen_names_field_and_category_and_never_the_text() -> None:
    value = {"details": "Jan (BSN 111222333) is moslim", "reason": "diabetes"}
    found = screen(value)
    assert found == [Finding("details", "bsn"), Finding("details", "religion"),
                     Finding("reason", "health")]
    with pytest.raises(ApiError) as refused:
        check({"reason": "Heeft diabetes"}, allowed=False)
    error = refused.value
    assert error.status_code == 422 and error.code == "special_category_not_allowed"
    assert "'reason'" in error.message and "health" in error.message
    assert "diabetes" not in error.message and "diabetes" not in str(error.details)
    assert error.details == [{"field": "reason", "category": "health",
                              "message": "holds health data"}]
    assert check({"reason": "Heeft diabetes"}, allowed=True) == [Finding("reason", "health")]


# --- O6: dates on the Dutch calendar -------------------------------------------------------

def test_o6_a_child_turns_16_at_midnight_amsterdam_time() -> None:
    birth = date(2010, 11, 23)
    # 23:30 UTC on the 22nd is 00:30 on the 23rd in Amsterdam (UTC+1 in winter): 16 today.
    assert amsterdam_today(datetime(2026, 11, 22, 23, 30, tzinfo=UTC)) == date(2026, 11, 23)
    assert not is_under_16(birth, datetime(2026, 11, 22, 23, 30, tzinfo=UTC))
    assert is_under_16(birth, datetime(2026, 11, 22, 22, 59, tzinfo=UTC))
    # Summer time: UTC+2.
    assert not is_under_16(date(2010, 7, 1), datetime(2026, 6, 30, 22, 0, tzinfo=UTC))
    assert is_under_16(date(2010, 7, 1), datetime(2026, 6, 30, 21, 59, tzinfo=UTC))


class _Dated(BaseModel):
    verified_at: Annotated[date, BeforeValidator(strict_date_text)]


@pytest.mark.parametrize("value", [0, 1700000000, 20260105, 1.5, True])
def test_o6_a_date_given_as_a_number_is_refused(value: object) -> None:
    with pytest.raises(ValidationError):
        _Dated(verified_at=value)  # type: ignore[arg-type]
    assert _Dated(verified_at="2026-01-05").verified_at == date(2026, 1, 5)  # type: ignore[arg-type]
