"""O5: the BSN detector on its own, both ways (no infrastructure needed)."""

from __future__ import annotations

import pytest

from training_records.sensitive import bsn_fields, find_bsn


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
