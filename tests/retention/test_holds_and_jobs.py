"""O17, O25: legal holds that show in the job and its certificate, follow-up jobs on release,
jobs that never claim completion before every expected store answered, and the job list."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from devstack.testing import auth, wait_for

DPO = auth("dpo", sub="dpo-anna")
OPERATOR = auth("operator", sub="operator-bram")


async def _tenant_with_learners(platform: Any, n: int) -> tuple[str, list[str]]:
    tr = platform.clients["training-records"]
    r = await tr.post("/v1/tenants", headers=OPERATOR, json={"name": "Hold B.V."})
    assert r.status_code == 201, r.text
    tenant = r.json()["id"]
    boss = auth("beheerder", tenant=tenant, sub=str(uuid.uuid4()))
    people = []
    for _ in range(n):
        r = await tr.post(f"/v1/tenants/{tenant}/participants", headers=boss, json={
            "name": "Joris Bakker", "email": f"{uuid.uuid4().hex[:8]}@example.org",
            "birth_date": "1985-02-03"})
        assert r.status_code == 201, r.text
        pid = r.json()["id"]
        me = auth("participant", tenant=tenant, sub=pid)
        assert (await tr.post(f"/v1/tenants/{tenant}/participants/{pid}/logins",
                              headers=me)).status_code == 201
        people.append(pid)
    return tenant, people


async def test_o17_a_hold_makes_a_job_completed_with_holds_and_its_release_erases_the_rest(
    platform,
) -> None:
    tenant, (held, _other) = await _tenant_with_learners(platform, 2)
    hold = await platform.retention.post("/v1/legal-holds", headers=DPO, json={
        "subject_id": held, "tenant_id": tenant, "ground": "legal_claims",
        "reference": "case 2026-114", "reason": "Claim filed by Joris Bakker"})
    assert hold.status_code == 201, hold.text
    assert hold.json()["lawful_ground"].startswith("GDPR Art. 17(3)(e)")

    created = await platform.retention.post("/v1/erasure-jobs", headers=DPO, json={
        "scope": "tenant", "tenant_id": tenant, "reason": "contract ended"})
    assert created.status_code == 202, created.text
    job = await platform.finished_job(created.json()["id"])
    assert job["status"] == "completed_with_holds"
    assert set(job["stores"]) == {"training-records", "consent", "retention", "breach",
                                  "subject-rights"}
    kept = job["stores"]["training-records"]["held"]
    assert kept["person"] == 1 and kept["login"] == 1
    assert job["stores"]["training-records"]["counts"]["person"] == 1
    certificate = job["certificate"]
    assert certificate["held"]["training-records"] == kept
    assert certificate["holds"] == [{
        "hold_id": hold.json()["id"], "ground": "legal_claims",
        "lawful_ground": hold.json()["lawful_ground"], "reference": "case 2026-114",
        "category": None}]
    assert "Joris" not in str(certificate) and held not in str(certificate)
    still = await platform.fetchval("training-records", "SELECT count(*) FROM person WHERE id = $1",
                                    uuid.UUID(held))
    assert still == 1

    released = await platform.retention.post(f"/v1/legal-holds/{hold.json()['id']}/release",
                                             headers=DPO)
    assert released.status_code == 200, released.text
    [follow_up] = released.json()["follow_up_jobs"]
    done = await platform.finished_job(follow_up)
    assert done["status"] == "completed" and done["follows_job_id"] == job["id"]
    assert done["stores"]["training-records"]["counts"]["person"] == 1
    assert (await platform.job(job["id"]))["follow_up_jobs"] == [follow_up]
    assert await platform.fetchval("training-records",
                                   "SELECT count(*) FROM person WHERE tenant_id = $1",
                                   uuid.UUID(tenant)) == 0
    assert await platform.fetchval("training-records", "SELECT count(*) FROM tenant WHERE id = $1",
                                   uuid.UUID(tenant)) == 0


async def test_o17_a_hold_on_a_category_of_a_tenant_is_skipped_by_category_jobs(platform) -> None:
    kept_tenant, kept_people = await _tenant_with_learners(platform, 1)
    _other_tenant, other_people = await _tenant_with_learners(platform, 1)
    unknown = await platform.retention.post("/v1/legal-holds", headers=DPO, json={
        "tenant_id": kept_tenant, "category": "invoices", "reason": "audit"})
    assert unknown.status_code == 422
    assert "login_times" in unknown.json()["error"]["message"]
    no_tenant = await platform.retention.post("/v1/legal-holds", headers=DPO, json={
        "category": "login_times", "subject_id": "s", "reason": "audit"})
    assert no_tenant.status_code == 422
    hold = await platform.retention.post("/v1/legal-holds", headers=DPO, json={
        "tenant_id": kept_tenant, "category": "login_times", "ground": "investigation",
        "reference": "AP-2026-031", "reason": "Investigation of logins"})
    assert hold.status_code == 201, hold.text
    try:
        created = await platform.retention.post("/v1/erasure-jobs", headers=DPO, json={
            "scope": "category", "category": "login_times",
            "older_than": (datetime.now(UTC) + timedelta(minutes=1)).isoformat(),
            "reason": "usage data past its term"})
        assert created.status_code == 202, created.text
        assert list(created.json()["stores"]) == ["training-records"]
        job = await platform.finished_job(created.json()["id"])
    finally:
        await platform.retention.post(f"/v1/legal-holds/{hold.json()['id']}/release",
                                      headers=DPO)
    assert job["status"] == "completed_with_holds"
    assert job["stores"]["training-records"]["held"] == {"login_times": 1}
    # The suite's platform is shared: other tests' holds may stand too; this one is named.
    named = [h for h in job["certificate"]["holds"] if h["hold_id"] == hold.json()["id"]]
    assert [h["category"] for h in named] == ["login_times"], job["certificate"]["holds"]

    async def logins(pid: str) -> int:
        return int(await platform.fetchval(
            "training-records", "SELECT count(*) FROM login WHERE participant_id = $1",
            uuid.UUID(pid)))

    assert await logins(other_people[0]) == 0
    # The release erased the held part with a follow-up job (the term had ended).
    await wait_for(lambda: _zero(logins(kept_people[0])), what="the follow-up to erase the rest")


async def _zero(value: Any) -> bool:
    return await value == 0


async def test_o25_a_store_that_does_not_answer_makes_its_job_stuck_never_completed(
    own_platform,
) -> None:
    platform = own_platform
    await platform.start("retention", expected_stores=["retention", "subject-rights", "breach"],
                         erasure_deadline_s=1, overdue_sweep_interval_s=0.3)
    await platform.start("subject-rights")
    await platform.ready({"retention", "subject-rights"})
    assert "breach" not in await platform.stores_known()

    created = await platform.retention.post("/v1/erasure-jobs", headers=DPO, json={
        "scope": "subject", "subject_id": str(uuid.uuid4()), "reason": "request"})
    assert created.status_code == 202, created.text
    job_id = created.json()["id"]
    # Breach has never announced itself, yet the job waits for it (expected_stores).
    assert set(created.json()["stores"]) == {"retention", "subject-rights", "breach"}

    async def stuck() -> dict[str, Any] | None:
        page = (await platform.retention.get("/v1/erasure-jobs", headers=DPO,
                                             params={"status": "stuck"})).json()
        return next((j for j in page["items"] if j["id"] == job_id), None)

    job = await wait_for(stuck, timeout=20, what="the job to be stuck")
    assert job["missing_stores"] == ["breach"]
    assert job["stores"]["subject-rights"]["status"] == "completed"
    assert job["certificate"] is None and job["completed_at"] is None
    health = (await platform.retention.get("/healthz")).json()
    assert health["erasure_jobs_stuck"] == 1
    assert health["stuck_jobs"][0] == {**health["stuck_jobs"][0], "id": job_id,
                                       "missing_stores": ["breach"]}
    await asyncio.sleep(1.5)  # asked again, still missing: still stuck, never completed
    again = await platform.job(job_id)
    assert again["status"] == "stuck" and again["certificate"] is None
    reasked = await platform.fetchval("retention",
                                      "SELECT reemitted FROM erasure_job WHERE id = $1",
                                      uuid.UUID(job_id))
    assert reasked >= 2

    await platform.start("breach")  # the store comes back and answers (each request once)
    done = await platform.finished_job(job_id)
    assert done["status"] == "completed" and done["missing_stores"] == []
    assert done["stores"]["breach"]["status"] == "completed"
    assert done["certificate"] is not None
    await wait_for(lambda: _no_stuck(platform), what="healthz to show no stuck job")


async def test_o25_stores_that_have_not_answered_are_asked_again_within_seconds_not_at_the_deadline(
    own_platform,
) -> None:
    """A lost request or acknowledgement (a broker restart) costs seconds: the missing store
    is asked again with a doubling pause long before the deadline, and the job stays pending."""
    platform = own_platform
    await platform.start("retention", expected_stores=["retention", "breach"],
                         erasure_deadline_s=600, erasure_reemit_after_s=0.4,
                         overdue_sweep_interval_s=0.2)
    await platform.ready({"retention"})
    created = await platform.retention.post("/v1/erasure-jobs", headers=DPO, json={
        "scope": "subject", "subject_id": str(uuid.uuid4()), "reason": "request"})
    assert created.status_code == 202, created.text
    job_id = uuid.UUID(created.json()["id"])

    async def asked_twice() -> bool:
        return bool(await platform.fetchval(
            "retention", "SELECT reemitted >= 2 FROM erasure_job WHERE id = $1", job_id))

    await wait_for(asked_twice, timeout=15, what="breach to be asked again twice")
    row = (await platform.fetch("retention", """SELECT status, overdue, reemitted,
               reemit_at - now() AS pause, deadline_at - created_at AS deadline
           FROM erasure_job WHERE id = $1""", job_id))[0]
    assert row["status"] == "pending" and not row["overdue"]
    assert row["deadline"] == timedelta(seconds=600)  # the deadline is not moved
    assert row["pause"] > timedelta(seconds=0.4)  # the pause doubles

    await platform.start("breach")  # it answers the request it finds (each once)
    done = await platform.finished_job(str(job_id))
    assert done["status"] == "completed" and done["certificate"] is not None


async def _no_stuck(platform: Any) -> bool:
    return bool((await platform.retention.get("/healthz")).json()["erasure_jobs_stuck"] == 0)


async def test_o25_the_job_list_filters_and_pages_newest_first(platform) -> None:
    marker = uuid.uuid4().hex[:8]
    start = datetime.now(UTC)
    ids = []
    for n in range(3):
        r = await platform.retention.post("/v1/erasure-jobs", headers=DPO, json={
            "scope": "subject", "subject_id": str(uuid.uuid4()),
            "reason_code": "subject_request", "reference": f"SR-{marker}-{n}"})
        assert r.status_code == 202, r.text
        ids.append(r.json()["id"])
    for job_id in ids:
        await platform.finished_job(job_id)
    query = {"reason": marker, "scope": "subject", "status": "completed",
             "created_after": start.isoformat(), "limit": 2}
    first = (await platform.retention.get("/v1/erasure-jobs", headers=DPO, params=query)).json()
    assert [j["id"] for j in first["items"]] == [ids[2], ids[1]]
    rest = (await platform.retention.get("/v1/erasure-jobs", headers=DPO,
                                         params={**query, "cursor": first["next_cursor"]})).json()
    assert [j["id"] for j in rest["items"]] == [ids[0]] and rest["next_cursor"] is None
    before = (await platform.retention.get("/v1/erasure-jobs", headers=DPO, params={
        "reason": marker, "created_before": start.isoformat()})).json()
    assert before["items"] == []
    tenants = (await platform.retention.get("/v1/erasure-jobs", headers=DPO, params={
        "reason": marker, "scope": "tenant"})).json()
    assert tenants["items"] == []
    wrong = await platform.retention.get("/v1/erasure-jobs", headers=DPO,
                                         params={"status": "finished"})
    assert wrong.status_code == 422


async def test_o15_an_erasure_job_for_a_category_no_store_declares_is_refused(platform) -> None:
    r = await platform.retention.post("/v1/erasure-jobs", headers=DPO, json={
        "scope": "category", "category": "invoices", "older_than": "2020-01-01T00:00:00Z",
        "reason": "cleanup"})
    assert r.status_code == 422
    message = r.json()["error"]["message"]
    assert "'invoices'" in message and "login_times" in message and "consent-ledger" in message
