"""O4: every category of personal data the seeds name is declared in some store's inventory,
with where it lives when another system holds it, so the processing register is complete."""

from __future__ import annotations

import pytest

from breach.provider import BreachProvider
from consent.provider import ConsentProvider
from consent.settings import Settings as ConsentSettings
from privacy_kit.protocol import DataCategory
from retention.provider import RetentionProvider
from subject_rights.provider import SubjectRightsProvider
from training_records.provider import TrainingRecordsProvider
from training_records.settings import Settings as TrainingRecordsSettings

# Seed 000 §2, 002, 003: the category, and a field some store must declare for it.
SEEDS = {
    "company data": "company",
    "name": "name",
    "address and residence": "address",
    "phone": "phone",
    "e-mail": "email",
    "birth date": "birth_date",
    "IP address": "client IP address",
    "cookie id": "cookie_id",
    "account: username": "username",
    "account: password hash": "password hash",
    "preferences": "preferences",
    "login times": "logged_in_at",
    "modules followed and progress": "module progress",
    "results": "results",
    "certificates": "verification_code",
    "education": "education",
    "work history": "work_history",
    "communications": "messages to the person",
    "answers to questions": "questions and answers",
    "payment data": "payment details",
    "bank account": "bank account number",
}
# Held outside the suite's databases: the inventory must say where.
ELSEWHERE = {"IP address", "account: username", "account: password hash", "payment data",
             "bank account", "communications", "answers to questions"}


def _inventories() -> list[tuple[str, DataCategory]]:
    providers = [TrainingRecordsProvider(TrainingRecordsSettings()),
                 ConsentProvider(ConsentSettings()), RetentionProvider(), BreachProvider(),
                 SubjectRightsProvider()]
    return [(p.store, c) for p in providers for c in p.inventory()]


@pytest.mark.parametrize("seed", sorted(SEEDS))
def test_o4_every_category_the_seeds_name_is_declared_with_where_it_lives(seed: str) -> None:
    field = SEEDS[seed]
    declaring = [(store, c) for store, c in _inventories()
                 if any(field.lower() in f.lower() for f in c.fields)]
    assert declaring, f"no store declares {seed!r} (a field like {field!r})"
    for _store, category in declaring:
        assert category.purpose and category.legal_basis and category.retention_rule
    if seed in ELSEWHERE:
        assert any(c.held_by for _, c in declaring), f"{seed!r}: where does it live?"
