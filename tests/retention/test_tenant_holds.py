"""O17: a legal hold on a tenant holds the erasure of each of its people (retention asks
training-records whose participant a subject is), and a hold freezes rectification of the
data it keeps."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from devstack.testing import auth, wait_for
from privacy_kit.protocol import SubjectErasureRequested, envelope

DPO = auth("dpo", sub="dpo-anna")
OPERATOR = auth("operator", sub="operator-bram")
REASON = "Claim by Joris Bakker, joris@example.org"


async def _participant(platform: Any) -> tuple[str, str]:
    tr = platform.clients["training-records"]
    r = await tr.post("/v1/tenants", headers=OPERATOR, json={"name": "Vast B.V."})
    assert r.status_code == 201, r.text
    tenant = r.json()["id"]
    r = await tr.post(f"/v1/tenants/{tenant}/participants",
                      headers=auth("beheerder", tenant=tenant, sub=str(uuid.uuid4())), json={
                          "name": "Joris Bakker", "email": f"{uuid.uuid4().hex[:8]}@example.org",
                          "birth_date": "1985-02-03"})
    assert r.status_code == 201, r.text
    return tenant, r.json()["id"]


async def _hold(platform: Any, **target: str) -> str:
    r = await platform.retention.post("/v1/legal-holds", headers=DPO, json={
        **target, "ground": "investigation", "reference": "AP-2026-031", "reason": REASON})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _person_exists(platform: Any, pid: str) -> bool:
    return bool(await platform.fetchval(
        "training-records", "SELECT 1 FROM person WHERE id = $1", uuid.UUID(pid)))


async def _known_at_training_records(platform: Any, hold: str) -> None:
    async def known() -> bool:
        return bool(await platform.fetchval(
            "training-records", "SELECT 1 FROM legal_hold_copy WHERE hold_id = $1",
            uuid.UUID(hold)))

    await wait_for(known, timeout=20, what="training-records to keep a copy of the hold")


async def test_o17_a_hold_on_the_tenant_holds_a_subject_job_until_it_is_released(platform) -> None:
    tenant, person = await _participant(platform)
    hold = await _hold(platform, tenant_id=tenant)

    created = await platform.retention.post("/v1/erasure-jobs", headers=DPO, json={
        "scope": "subject", "subject_id": person, "reason_code": "subject_request",
        "reference": "SR-1"})
    assert created.status_code == 202, created.text
    job = created.json()
    # Visible to the DPO as held, named by the hold (its ground and reference, not its reason).
    assert job["status"] == "held" and job["held_reason"] == "tenant_on_hold"
    assert job["held_by"]["id"] == hold and job["held_by"]["ground"] == "investigation"
    assert job["held_by"]["tenant_id"] == tenant and not job["held_by"]["on_subject"]
    assert REASON not in created.text
    listed = await platform.retention.get("/v1/erasure-jobs", headers=DPO,
                                          params={"status": "held", "limit": 200})
    assert job["id"] in [j["id"] for j in listed.json()["items"]]

    # No store was asked: the participant is still there, and the job stays held.
    await asyncio.sleep(1.5)
    assert (await platform.job(job["id"]))["status"] == "held"
    assert await _person_exists(platform, person)

    released = await platform.retention.post(f"/v1/legal-holds/{hold}/release", headers=DPO)
    assert released.status_code == 200, released.text
    done = await platform.finished_job(job["id"])
    assert done["status"] == "completed" and done["held_by"] is None
    assert not await _person_exists(platform, person)


async def test_o17_a_subject_erasure_asked_by_event_for_a_held_tenant_waits_for_the_release(
    platform,
) -> None:
    tenant, person = await _participant(platform)
    hold = await _hold(platform, tenant_id=tenant)
    await platform.publish("privacy.subject", envelope(
        SubjectErasureRequested(reason="under_16_without_parental_consent",
                                trigger="training-records"),
        source="training-records", subject_id=person, tenant_id=tenant))

    async def held_job() -> dict[str, Any] | None:
        row = await platform.fetch("retention", "SELECT id, status, held_by FROM erasure_job "
                                   "WHERE subject_id = $1", person)
        return dict(row[0]) if row else None

    job = await wait_for(held_job, timeout=30, what="the held job of the event")
    assert job["status"] == "held" and str(job["held_by"]) == hold
    r = await platform.retention.post(f"/v1/legal-holds/{hold}/release", headers=DPO)
    assert r.status_code == 200, r.text
    done = await platform.finished_job(str(job["id"]))
    assert done["status"] == "completed"
    assert not await _person_exists(platform, person)


async def test_o17_a_hold_freezes_rectification_of_the_participant_until_released(
    platform,
) -> None:
    tr = platform.clients["training-records"]
    tenant, person = await _participant(platform)
    url = f"/v1/tenants/{tenant}/participants/{person}"
    me = auth("participant", tenant=tenant, sub=person)
    for target in ({"tenant_id": tenant}, {"subject_id": person}):
        hold = await _hold(platform, **target)

        await _known_at_training_records(platform, hold)
        answer = await tr.patch(url, headers=me, json={"name": "Joris Bakker-de Wit"})
        assert answer.status_code == 409, answer.text
        error = answer.json()["error"]
        assert error["code"] == "legal_hold" and hold in error["message"]
        assert "investigation" in error["message"] and "Joris" not in error["message"]
        assert await platform.fetchval("training-records", "SELECT name FROM person "
                                       "WHERE id = $1", uuid.UUID(person)) == "Joris Bakker"
        r = await platform.retention.post(f"/v1/legal-holds/{hold}/release", headers=DPO)
        assert r.status_code == 200, r.text

        async def accepted() -> bool:
            r = await tr.patch(url, headers=me, json={"phone": f"06{uuid.uuid4().int % 10**8:08d}"})
            return r.status_code == 200

        await wait_for(accepted, timeout=20, what="the release to reach training-records")
        assert await platform.fetchval("training-records", "SELECT name FROM person "
                                       "WHERE id = $1", uuid.UUID(person)) == "Joris Bakker"


async def test_o17_a_hold_on_another_tenant_or_category_leaves_rectification_open(
    platform,
) -> None:
    tr = platform.clients["training-records"]
    tenant, person = await _participant(platform)
    other, _ = await _participant(platform)
    for hold in (await _hold(platform, tenant_id=other),
                 await _hold(platform, tenant_id=tenant, category="login_times")):
        await _known_at_training_records(platform, hold)
    r = await tr.patch(f"/v1/tenants/{tenant}/participants/{person}", headers=OPERATOR,
                       json={"name": "Joris Bakker-de Wit"})
    assert r.status_code == 200, r.text


async def test_o17_an_account_training_records_ended_is_held_by_the_tenant_its_request_names(
    platform,
) -> None:
    """After a sweep ends accounts, training-records has erased the people before it asks the
    other stores to: asked over HTTP, it would no longer know their tenant, and a hold on that
    tenant would not hold the erasure of what consent and the others keep of them."""
    tenant, _ = await _participant(platform)
    hold = await _hold(platform, tenant_id=tenant)
    ended = str(uuid.uuid4())  # no longer known to training-records
    await platform.publish("privacy.subject", envelope(
        SubjectErasureRequested(reason="account_closed_term_ended", trigger="retention sweep"),
        source="training-records", subject_id=ended, tenant_id=tenant))

    async def the_job() -> dict[str, Any] | None:
        row = await platform.fetch("retention", "SELECT id, status, held_by, held_reason "
                                   "FROM erasure_job WHERE subject_id = $1", ended)
        return dict(row[0]) if row else None

    job = await wait_for(the_job, timeout=30, what="the job of the ended account")
    assert job["status"] == "held" and job["held_reason"] == "tenant_on_hold"
    assert str(job["held_by"]) == hold
    r = await platform.retention.post(f"/v1/legal-holds/{hold}/release", headers=DPO)
    assert r.status_code == 200, r.text
    assert (await platform.finished_job(str(job["id"])))["status"] == "completed"
