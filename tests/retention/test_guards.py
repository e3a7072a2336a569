"""O5 in retention (legal-hold and erasure reasons) and O6 end to end: an under-16 found
without parental consent is erased from every store, and a hold that stops it is shown to the
DPO."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from devstack.testing import auth, service_auth, wait_for
from privacy_kit.protocol import SubjectErasureRequested, envelope
from retention.erasure.certificate import subject_hash

DPO = auth("dpo", sub="dpo-guards")
OPERATOR = auth("operator", sub="operator-guards")


async def _learner(platform: Any) -> tuple[str, str, dict[str, str]]:
    tr = platform.clients["training-records"]
    r = await tr.post("/v1/tenants", headers=OPERATOR, json={"name": "Guards B.V."})
    assert r.status_code == 201, r.text
    tenant = r.json()["id"]
    boss = auth("beheerder", tenant=tenant, sub=str(uuid.uuid4()))
    r = await tr.post(f"/v1/tenants/{tenant}/participants", headers=boss, json={
        "name": "Noor Visser", "email": f"{uuid.uuid4().hex[:8]}@example.org",
        "birth_date": "1990-02-03"})
    assert r.status_code == 201, r.text
    return tenant, r.json()["id"], boss


def _fourteen() -> str:
    today = date.today()
    return today.replace(year=today.year - 14, day=min(today.day, 28)).isoformat()


async def test_o5_legal_hold_and_erasure_reasons_are_screened(platform) -> None:
    tenant, pid, _ = await _learner(platform)
    r = await platform.retention.post("/v1/legal-holds", headers=DPO, json={
        "subject_id": pid, "tenant_id": tenant, "ground": "legal_claims",
        "reference": "case 2026-9", "reason": "Claim about his sick leave and burn-out"})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"][0] == {
        "field": "reason", "category": "health", "message": "holds health data"}
    assert "burn-out" not in r.text
    r = await platform.retention.post("/v1/legal-holds", headers=DPO, json={
        "subject_id": pid, "tenant_id": tenant, "ground": "legal_claims",
        "reference": "123 456 782", "reason": "A claim"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "bsn_not_allowed"
    r = await platform.retention.post("/v1/erasure-jobs", headers=DPO, json={
        "scope": "subject", "subject_id": pid, "reason": "Asked by phone; BSN 123.456.782"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "bsn_not_allowed"
    assert await platform.fetchval(
        "retention", "SELECT count(*) FROM legal_hold WHERE subject_id = $1", pid) == 0

    # With the tenant's agreement (recorded in training-records) the hold is placed, and the
    # category of its reason recorded.
    r = await platform.clients["training-records"].post(
        f"/v1/tenants/{tenant}/special-category-agreements", headers=DPO,
        json={"effective_on": "2026-03-01", "document_reference": "DPA annex B 2026-21"})
    assert r.status_code == 201, r.text
    r = await platform.retention.post("/v1/legal-holds", headers=DPO, json={
        "subject_id": pid, "tenant_id": tenant, "ground": "legal_claims",
        "reference": "case 2026-9", "reason": "Claim about his sick leave"})
    assert r.status_code == 201, r.text
    found = await platform.fetch(
        "retention", """SELECT record_kind, field, category FROM special_category_finding
                        WHERE record_id = $1""", r.json()["id"])
    assert [tuple(f) for f in found] == [("legal_hold", "reason", "health")]
    await platform.retention.post(f"/v1/legal-holds/{r.json()['id']}/release", headers=DPO)


async def _person_rows(platform: Any, pid: str) -> dict[str, int]:
    return {
        "training-records": await platform.fetchval(
            "training-records", "SELECT count(*) FROM person WHERE id = $1", uuid.UUID(pid)),
        "consent": await platform.fetchval(
            "consent", "SELECT count(*) FROM consent_record WHERE subject_id = $1", pid),
    }


async def test_o6_an_under_16_found_without_parental_consent_is_erased_from_every_store(
    platform,
) -> None:
    tenant, pid, boss = await _learner(platform)
    me = auth("participant", tenant=tenant, sub=pid)
    r = await platform.clients["consent"].put(
        f"/v1/subjects/{pid}/consents/newsletter", headers=me, json={"granted": True})
    assert r.status_code == 200, r.text
    assert await _person_rows(platform, pid) == {"training-records": 1, "consent": 1}

    r = await platform.clients["training-records"].patch(
        f"/v1/tenants/{tenant}/participants/{pid}", headers=boss,
        json={"birth_date": _fourteen()})
    assert r.status_code == 200 and r.json()["erasure_requested"] is True

    # Found by the keyed hash of the id, which the job keeps: a job that completes between
    # two polls has already let go of the id itself (O3).
    secret = platform.apps["retention"].state.settings.certificate_secret
    job_id = await wait_for(lambda: platform.fetchval(
        "retention", "SELECT id FROM erasure_job WHERE subject_hash = $1 ORDER BY created_at "
        "DESC LIMIT 1", subject_hash(secret, pid)), timeout=30,
        what="retention to start the erasure")
    job = await platform.finished_job(str(job_id))
    assert job["status"] == "completed"
    # Gone from the stores themselves, not only announced.
    assert await _person_rows(platform, pid) == {"training-records": 0, "consent": 0}
    assert await platform.fetchval(
        "training-records", "SELECT count(*) FROM person_rectification WHERE person_id = $1",
        uuid.UUID(pid)) == 0
    # The kit's access log keeps ids as text (O3).
    assert await platform.fetchval(
        "training-records", "SELECT count(*) FROM access_log WHERE subject_id = $1", pid) == 0


async def test_o6_a_legal_hold_that_stops_the_under_16_erasure_is_shown_to_the_dpo(
    platform,
) -> None:
    tenant, pid, boss = await _learner(platform)
    hold = await platform.retention.post("/v1/legal-holds", headers=DPO, json={
        "subject_id": pid, "tenant_id": tenant, "ground": "legal_claims",
        "reference": "case 2026-31", "reason": "A claim is pending"})
    assert hold.status_code == 201, hold.text
    # Under the hold the profile is frozen (O17): once training-records has its copy of the
    # hold, a correction is refused, naming the hold.
    await wait_for(lambda: platform.fetchval(
        "training-records", "SELECT count(*) FROM legal_hold_copy WHERE subject_id = $1", pid),
        timeout=30, what="training-records to learn of the hold")
    r = await platform.clients["training-records"].patch(
        f"/v1/tenants/{tenant}/participants/{pid}", headers=boss,
        json={"birth_date": _fourteen()})
    assert r.status_code == 409 and r.json()["error"]["code"] == "legal_hold", r.text
    # The request training-records makes when it finds an under-16 without parental consent
    # (tested end to end above), arriving while the hold stands.
    await platform.publish(SubjectErasureRequested.TOPIC, envelope(
        SubjectErasureRequested(reason="under_16_without_parental_consent",
                                trigger="training-records"),
        source="training-records", tenant_id=tenant, subject_id=pid))

    async def listed() -> dict[str, Any] | None:
        r = await platform.retention.get("/v1/legal-holds/stopped-erasures", headers=DPO)
        assert r.status_code == 200, r.text
        return next((s for s in r.json()["items"] if s["subject_id"] == pid), None)

    stopped = await wait_for(listed, timeout=30, what="the stopped erasure to be listed")
    assert stopped["reason_code"] == "under_16_without_parental_consent"
    assert stopped["trigger"] == "training-records" and stopped["tenant_id"] == tenant
    assert stopped["hold_ids"] == [hold.json()["id"]] and stopped["holds_active"] is True
    assert await platform.fetchval(
        "training-records", "SELECT count(*) FROM person WHERE id = $1", uuid.UUID(pid)) == 1
    export = await platform.retention.get(f"/internal/subjects/{pid}/export",
                                          headers=service_auth("subject-rights"))
    assert [e["reason_code"] for e in export.json()["data"]["erasures_stopped_by_a_hold"]] == [
        "under_16_without_parental_consent"]
    beheerder = await platform.retention.get("/v1/legal-holds/stopped-erasures", headers=boss)
    assert beheerder.status_code == 403
    await platform.retention.post(f"/v1/legal-holds/{hold.json()['id']}/release", headers=DPO)
    released = await listed()
    assert released is not None and released["holds_active"] is False
