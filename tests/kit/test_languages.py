"""Dutch and English: the catalogues are complete and an answer follows Accept-Language."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from privacy_kit.i18n import Joined, Translator, localize, negotiate, parse_accept_language, tr

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {
    ROOT / "libs/privacy-kit/src/privacy_kit": "privacy_kit",
    ROOT / "gateway/src/gateway": "gateway",
    ROOT / "services/consent/src/consent": "consent",
    ROOT / "services/training-records/src/training_records": "training_records",
    ROOT / "services/retention/src/retention": "retention",
    ROOT / "services/breach/src/breach": "breach",
    ROOT / "services/subject-rights/src/subject_rights": "subject_rights",
}


@pytest.mark.parametrize("package", list(PACKAGES), ids=list(PACKAGES.values()))
def test_every_marked_text_has_a_dutch_translation(package: Path) -> None:
    """Every `tr("...")` in a package's code is in its Dutch catalogue, not fuzzy, not empty."""
    po = package / "locale/nl/LC_MESSAGES/messages.po"
    with po.open("rb") as f:
        catalogue = read_po(f, locale="nl")
    translated = {m.id for m in catalogue if m.id and m.string and not m.fuzzy}
    marked = {message for _, _, message, _, _ in extract_from_dir(
        str(package), method_map=[("**.py", "python")], keywords={"tr": None})}
    missing = sorted(m for m in marked if m not in translated)
    assert missing == [], f"no Dutch for: {missing}"


def test_accept_language_is_negotiated_by_quality() -> None:
    assert parse_accept_language("nl-NL,nl;q=0.9,en-US;q=0.8,en;q=0.7") == ["nl", "nl", "en", "en"]
    assert negotiate("de-DE, en;q=0.5, nl;q=0.8") == "nl"
    assert negotiate("fr, de") == "en"  # neither offered: the default
    assert negotiate("fr", default="nl") == "nl"
    assert negotiate(None) == "en"
    assert negotiate("nl;q=0, en") == "en"


def test_texts_and_plain_messages_are_translated() -> None:
    text = tr("sort must be one of: {choices}.", choices="name, -name")
    assert text == "sort must be one of: name, -name."  # reads as English everywhere
    assert localize(text, "nl") == "sort moet een van deze waarden zijn: name, -name."
    assert localize("This needs one of the roles: dpo, operator.", "nl") == \
        "Hiervoor is een van deze rollen nodig: dpo, operator."
    assert localize("Something nobody translated.", "nl") == "Something nobody translated."
    assert localize(text, "en") == text


def test_a_package_without_a_catalogue_speaks_english(tmp_path: Path) -> None:
    lonely = Translator(tmp_path)
    try:
        assert lonely("Hello {name}.", name="Sanne").in_language("nl") == "Hello Sanne."
    finally:
        Translator.registry.remove(lonely)


def test_joined_texts_are_said_part_by_part() -> None:
    reasons = Joined([tr("No such resource."), "HTTP 503"], "; ")
    assert reasons == "No such resource.; HTTP 503"
    assert localize(reasons, "nl") == f"{tr('No such resource.').in_language('nl')}; HTTP 503"
    assert localize(reasons, "nl") != reasons
