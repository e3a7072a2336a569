"""The typed protocol: every event type has a model, a topic and a generated JSON Schema."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest

from privacy_kit import schemas
from privacy_kit.protocol import (
    EVENTS,
    ConsentChanged,
    ErasureRequested,
    ErasureScope,
    ProtocolError,
    SubjectRestricted,
    envelope,
    json_schema,
    payload_of,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "events"


def test_the_event_schemas_in_docs_are_generated_from_the_models() -> None:
    assert schemas.differences(DOCS) == [], (
        "docs/events/ is stale: run `python -m privacy_kit.schemas docs/events`")


def test_the_schema_check_notices_a_changed_file(tmp_path: Path) -> None:
    assert schemas.main([str(tmp_path)]) == 0
    assert schemas.main(["--check", str(tmp_path)]) == 0
    target = tmp_path / "consent.changed.json"
    target.write_text(target.read_text().replace('"purpose"', '"purpose_id"', 1))
    assert schemas.main(["--check", str(tmp_path)]) == 1


def test_an_envelope_round_trips_through_its_model_and_validates_against_its_schema() -> None:
    job = uuid.uuid4()
    request = ErasureRequested(job_id=job, scope=ErasureScope(kind="subject", subject_id="s-1"),
                               stores=["consent"], deadline_at=datetime.now(UTC))
    event = envelope(request, source="retention", subject_id="s-1", correlation_id=str(job))
    wire = json.loads(event.model_dump_json())
    jsonschema.validate(wire, json_schema(ErasureRequested))
    assert payload_of(event, ErasureRequested) == request
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**wire, "type": "erasure.completed"}, json_schema(ErasureRequested))


def test_events_about_a_subject_must_name_one() -> None:
    with pytest.raises(ProtocolError, match="needs a subject_id"):
        envelope(SubjectRestricted(), source="subject-rights")
    event = envelope(ConsentChanged(purpose="newsletter", granted=True), source="consent",
                     subject_id="s-1").model_copy(update={"subject_id": None})
    with pytest.raises(ProtocolError, match="names no subject_id"):
        payload_of(event, ConsentChanged)


def test_every_event_type_has_one_model_on_a_privacy_topic() -> None:
    protocol = {t: m for t, m in EVENTS.items() if m.__module__ == "privacy_kit.protocol"}
    assert len(protocol) >= 13
    assert all(m.TOPIC.startswith("privacy.") for m in protocol.values())
    assert {p.name for p in DOCS.glob("*.json")} == {f"{t}.json" for t in protocol}
