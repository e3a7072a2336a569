"""Certificates people can use: every name as written, Dutch or English, the public address to
check them, and a check that still answers truthfully after the holder's erasure (O15, O25)."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta

from pypdf import PdfReader

from devstack.testing import read_events
from privacy_kit.events import Topic
from privacy_kit.protocol import ErasureRequested, ErasureScope, envelope

NAME = "Çağlar Łukasz Öztürk"
PUBLIC = "https://privacy.opleidingen.example"


async def _certified(tr, name: str, title: str) -> tuple[str, str, str, dict]:
    tid = await tr.tenant()
    pid = await tr.participant(tid, name=name)
    training = await tr.training(modules=1, title=title)
    await tr.assign(tid, pid, training["id"])
    me = tr.participant_auth(tid, pid)
    await tr.client.put(
        f"/v1/tenants/{tid}/participants/{pid}/progress/{training['modules'][0]['id']}",
        headers=me, json={"completed": True})
    passed = await tr.result(tid, pid, training["id"], 88, True)
    assert passed["certificate_id"]
    listing = await tr.client.get(f"/v1/tenants/{tid}/participants/{pid}/certificates",
                                  headers=me)
    return tid, pid, passed["certificate_id"], listing.json()["items"][0]


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


async def test_o15_certificate_prints_every_name_as_written_in_dutch_and_english(tr) -> None:
    title = "Privacy op de werkvloer — ŞİRKET / Ελληνικά / Кириллица"
    tid, pid, certificate_id, certificate = await _certified(tr, NAME, title)
    url = f"/v1/tenants/{tid}/participants/{pid}/certificates/{certificate_id}/pdf"
    me = tr.participant_auth(tid, pid)
    settings = tr.app.state.settings
    settings.public_base_url = PUBLIC
    try:
        dutch = await tr.client.get(url, headers={**me, "Accept-Language": "nl"})
        english = await tr.client.get(url, headers={**me, "Accept-Language": "en"})
    finally:
        settings.public_base_url = ""
    assert dutch.status_code == english.status_code == 200
    assert dutch.headers["content-language"] == "nl"
    code = certificate["verification_code"]
    nl, en = _text(dutch.content), _text(english.content)
    for text in (nl, en):
        assert NAME in text
        assert title in text
        assert code in text
        assert f"{PUBLIC}/v1/certificates/{code}" in text
        assert "127.0.0.1:8001" not in text and "?" not in text  # no unprintable letters
    assert "Hierbij verklaren wij dat" in nl and "de training heeft afgerond" in nl
    assert "Verificatiecode" in nl and "Controleer de echtheid" in nl
    assert "This certifies that" in en and "Verification code" in en
    issued = certificate["issued_at"][:4]
    assert issued in nl and issued in en


async def test_certificate_address_follows_the_gateway_without_a_setting(tr) -> None:
    tid, pid, certificate_id, certificate = await _certified(tr, "Fenna Visser", "AVG")
    answer = await tr.client.get(
        f"/v1/tenants/{tid}/participants/{pid}/certificates/{certificate_id}/pdf",
        headers={**tr.participant_auth(tid, pid), "X-Forwarded-Host": "127.0.0.1:8000",
                 "X-Forwarded-Proto": "http"})
    assert f"http://127.0.0.1:8000/v1/certificates/{certificate['verification_code']}" in \
        _text(answer.content)


async def test_o25_after_erasure_the_check_says_genuine_and_holder_erased(events_ready) -> None:
    tr = events_ready
    tid, pid, _, certificate = await _certified(tr, NAME, "Veilig werken")
    code = certificate["verification_code"]
    before = (await tr.client.get(f"/v1/certificates/{code}")).json()
    assert (before["valid"], before["status"], before["holder_erased"]) == (True, "valid", False)

    job = str(uuid.uuid4())
    await tr.publish(Topic.ERASURE, envelope(ErasureRequested(
        job_id=job, stores=["training-records"], scope=ErasureScope(kind="subject", subject_id=pid),
        deadline_at=datetime.now(UTC) + timedelta(hours=1)), source="retention", subject_id=pid, tenant_id=tid))
    await read_events(tr.suite.kafka_bootstrap, tr.suite.topic(Topic.ERASURE), timeout=30,
                      match=lambda e: e.type == "erasure.completed" and e.data["job_id"] == job)

    after = await tr.client.get(f"/v1/certificates/{code}")
    body = after.json()
    assert after.status_code == 200
    assert body["valid"] is True and body["status"] == "holder_erased"
    assert body["holder_erased"] is True and body["erased_at"]
    assert body["training"] == "Veilig werken" and body["issued_at"] == before["issued_at"]
    assert "Öztürk" not in after.text and pid not in after.text
    assert await tr.fetchval("SELECT count(*) FROM certificate WHERE participant_id = $1",
                             uuid.UUID(pid)) == 0
    # Only a hash of the code is kept, never the code itself.
    assert await tr.fetchval(
        "SELECT count(*) FROM erased_certificate WHERE code_hash = $1", code) == 0
    unknown = (await tr.client.get("/v1/certificates/AAAA-BBBB-CCCC")).json()
    assert (unknown["valid"], unknown["status"]) == (False, "unknown")
