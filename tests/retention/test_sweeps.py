"""O15, O16, O13: retention sweeps on the five real stores: a dry run counted by the stores
themselves, approval, the stores acting on their own timestamps, anonymisation that keeps only
aggregates and destroys the data of people who opted out."""

from __future__ import annotations

import uuid
from typing import Any

from devstack.testing import auth, wait_for

DPO = auth("dpo", sub="dpo-anna")
OPERATOR = auth("operator", sub="operator-bram")
TRAINING_TABLES = ("person", "assignment", "module_progress", "result", "login", "certificate",
                   "access_log", "person_rectification", "anonymisation_opt_out")


class Learning:
    """A tenant of training-records with a training, driven through its HTTP API."""

    def __init__(self, platform: Any) -> None:
        self.platform = platform
        self.client = platform.clients["training-records"]

    async def setup(self) -> None:
        r = await self.client.post("/v1/tenants", headers=OPERATOR, json={"name": "Sweep B.V."})
        assert r.status_code == 201, r.text
        self.tenant = r.json()["id"]
        r = await self.client.post("/v1/trainings", headers=OPERATOR, json={
            "title": f"Sweep {uuid.uuid4().hex[:6]}",
            "modules": [{"title": "Module 1"}, {"title": "Module 2"}]})
        assert r.status_code == 201, r.text
        self.training = r.json()

    def me(self, pid: str) -> dict[str, str]:
        return auth("participant", tenant=self.tenant, sub=pid)

    async def learner(self, score: float) -> str:
        boss = auth("beheerder", tenant=self.tenant, sub=str(uuid.uuid4()))
        r = await self.client.post(f"/v1/tenants/{self.tenant}/participants", headers=boss, json={
            "name": "Fenna Visser", "email": f"{uuid.uuid4().hex[:8]}@example.org",
            "birth_date": "1990-05-17"})
        assert r.status_code == 201, r.text
        pid = r.json()["id"]
        base = f"/v1/tenants/{self.tenant}/participants/{pid}"
        r = await self.client.post(f"/v1/tenants/{self.tenant}/assignments", headers=boss, json={
            "participant_id": pid, "training_id": self.training["id"], "due_date": "2030-01-01"})
        assert r.status_code == 201, r.text
        for module in self.training["modules"]:
            r = await self.client.put(f"{base}/progress/{module['id']}", headers=self.me(pid),
                                      json={"completed": True, "time_spent_s": 60})
            assert r.status_code in (200, 201), r.text
        await self.client.post(f"{base}/logins", headers=self.me(pid))
        r = await self.client.post(f"{base}/results", headers=self.me(pid), json={
            "training_id": self.training["id"], "score": score, "passed": score >= 55})
        assert r.status_code == 201, r.text
        return str(pid)

    async def close(self, pid: str) -> None:
        r = await self.client.post(f"/v1/tenants/{self.tenant}/participants/{pid}/closure",
                                   headers=auth("beheerder", tenant=self.tenant, sub="b-1"))
        assert r.status_code == 200, r.text

    async def benchmark(self) -> dict[str, Any]:
        r = await self.client.get(f"/v1/trainings/{self.training['id']}/benchmark",
                                  headers=OPERATOR)
        return dict(r.json())

    async def rows_naming(self, pid: str) -> dict[str, int]:
        found = {}
        for table in TRAINING_TABLES:
            n = await self.platform.fetchval(
                "training-records",
                f"SELECT count(*) FROM {table} x WHERE x::text ILIKE '%' || $1 || '%'", pid)
            if n:
                found[table] = n
        return found


async def _sweep(platform: Any, sweep_id: str) -> dict[str, Any]:
    r = await platform.retention.get(f"/v1/retention-sweeps/{sweep_id}", headers=DPO)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def _until(platform: Any, sweep_id: str, status: str) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        sweep = await _sweep(platform, sweep_id)
        return sweep if sweep["status"] == status else None

    return await wait_for(reached, timeout=40, what=f"sweep {sweep_id} to be {status}")


def _items(sweep: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(i["store"], i["category"]): i for i in sweep["items"]}


async def _dry_run(platform: Any) -> dict[str, Any]:
    r = await platform.retention.post("/v1/retention-sweeps", headers=DPO)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "counting"
    return await _until(platform, r.json()["id"], "awaiting_approval")


async def test_o15_o16_o13_the_approved_sweep_removes_what_its_dry_run_counted_keeping_only_aggregates(
    platform,
) -> None:
    learning = Learning(platform)
    await learning.setup()
    kept_anonymously = await learning.learner(80)
    opted_out = await learning.learner(40)
    still_here = await learning.learner(60)
    # O13: said in advance, through the consent service; training-records learns it by event.
    r = await platform.clients["consent"].put(
        f"/v1/subjects/{opted_out}/consents/anonymised-data", headers=learning.me(opted_out),
        json={"granted": False})
    assert r.status_code == 200, r.text
    await wait_for(lambda: platform.fetchval(
        "training-records", "SELECT opted_out FROM anonymisation_opt_out WHERE subject_id = $1",
        uuid.UUID(opted_out)), what="the opt-out to reach training-records")
    before = await learning.benchmark()
    await learning.close(kept_anonymously)
    await learning.close(opted_out)

    dry_run = await _dry_run(platform)
    items = _items(dry_run)
    # Two closed accounts: 1 assignment, 2 module progress rows and 1 result each.
    assert items[("training-records", "training_history")]["counted"] == 8
    assert items[("training-records", "training_history")]["action"] == "anonymise"
    assert items[("training-records", "participant_profile")]["counted"] == 2
    assert items[("training-records", "login_times")]["counted"] == 2
    assert set(dry_run["stores"]) >= {"training-records", "consent", "retention", "breach",
                                      "subject-rights"}
    assert all(at is not None for at in dry_run["stores"].values())
    # Nothing has happened yet: a dry run only counts.
    assert await learning.rows_naming(opted_out) != {}

    approved = await platform.retention.post(f"/v1/retention-sweeps/{dry_run['id']}/approve",
                                             headers=OPERATOR)
    assert approved.status_code == 200, approved.text
    assert approved.json()["approved_by"] == "operator-bram"
    again = await platform.retention.post(f"/v1/retention-sweeps/{dry_run['id']}/approve",
                                          headers=OPERATOR)
    assert again.status_code == 409
    done = await _until(platform, dry_run["id"], "completed")

    for item in done["items"]:
        assert item["removed"] == (item["counted"] or 0), item
        assert item["difference"] == 0, item
    assert done["totals"]["difference"] == 0
    assert done["totals"]["removed"] == done["totals"]["counted"] > 0
    job = await platform.job(_items(done)[("training-records", "training_history")]["job_id"])
    assert job["scope"] == "category" and job["status"] == "completed"
    assert list(job["stores"]) == ["training-records"]

    # O16: the aggregates are what they were; nothing identifies the closed accounts any more.
    assert await learning.benchmark() == before
    assert await learning.rows_naming(kept_anonymously) == {}
    assert await learning.rows_naming(opted_out) == {}
    assert await learning.rows_naming(still_here) != {}
    # O13: the opted-out person's progress was destroyed, not folded into the aggregate.
    folded = await platform.fetch(
        "training-records", "SELECT participants, completed, time_spent_s FROM module_benchmark"
        " WHERE module_id = ANY($1::uuid[])",
        [uuid.UUID(m["id"]) for m in learning.training["modules"]])
    assert [tuple(r) for r in folded] == [(1, 1, 60), (1, 1, 60)]
    # The closed accounts are erased in every other store too, by subject jobs (O25).
    await wait_for(lambda: platform.fetchval(
        "consent", "SELECT count(*) = 0 FROM consent_record WHERE subject_id = $1", opted_out),
        what="the opted-out person's consent ledger to go with the account")


async def test_o15_what_changed_between_the_dry_run_and_the_approval_shows_as_the_difference(
    platform,
) -> None:
    learning = Learning(platform)
    await learning.setup()
    first, second = await learning.learner(70), await learning.learner(90)
    await learning.close(first)
    await learning.close(second)
    dry_run = await _dry_run(platform)
    assert _items(dry_run)[("training-records", "training_history")]["counted"] == 8

    # In between, one of them is erased by a subject erasure of its own.
    erased = await platform.retention.post("/v1/erasure-jobs", headers=DPO, json={
        "scope": "subject", "subject_id": first, "reason": "request of the participant"})
    assert erased.status_code == 202, erased.text
    await platform.finished_job(erased.json()["id"])

    r = await platform.retention.post(f"/v1/retention-sweeps/{dry_run['id']}/approve",
                                      headers=DPO)
    assert r.status_code == 200, r.text
    done = await _until(platform, dry_run["id"], "completed")
    items = _items(done)
    history = items[("training-records", "training_history")]
    assert (history["counted"], history["removed"], history["difference"]) == (8, 4, 4)
    profile = items[("training-records", "participant_profile")]
    assert (profile["counted"], profile["removed"], profile["difference"]) == (2, 1, 1)
    assert done["totals"]["difference"] == sum(i["difference"] for i in done["items"]) > 0


async def test_o15_a_rule_marked_auto_approve_acts_right_after_its_dry_run(platform) -> None:
    learning = Learning(platform)
    await learning.setup()
    pid = await learning.learner(75)
    rule = "/v1/retention-rules/training-records/login_times"
    r = await platform.retention.put(rule, headers=DPO, json={
        "period": "PT0S", "clock": "last_activity", "action": "destroy", "auto_approve": True})
    assert r.status_code == 200, r.text
    try:
        r = await platform.retention.post("/v1/retention-sweeps", headers=DPO)
        assert r.status_code == 202, r.text
        done = await _until(platform, r.json()["id"], "completed")
    finally:
        assert (await platform.retention.delete(rule, headers=DPO)).status_code == 204
    logins = _items(done)[("training-records", "login_times")]
    assert logins["auto_approve"] and logins["counted"] >= 1
    assert logins["removed"] == logins["counted"]
    assert done["approved_by"] is None
    assert await platform.fetchval("training-records",
                                   "SELECT count(*) FROM login WHERE participant_id = $1",
                                   uuid.UUID(pid)) == 0


async def test_o15_sweeps_are_listed_newest_first_and_checked(platform) -> None:
    first = (await platform.retention.post("/v1/retention-sweeps", headers=DPO)).json()
    second = (await platform.retention.post("/v1/retention-sweeps", headers=DPO)).json()
    page = (await platform.retention.get("/v1/retention-sweeps", headers=DPO,
                                         params={"limit": 1})).json()
    assert [s["id"] for s in page["items"]] == [second["id"]]
    rest = (await platform.retention.get("/v1/retention-sweeps", headers=DPO,
                                         params={"cursor": page["next_cursor"]})).json()
    assert rest["items"][0]["id"] == first["id"]
    await _until(platform, second["id"], "completed")
    # The older dry run was replaced by the newer one, which may be approved instead.
    old = await _sweep(platform, first["id"])
    if old["status"] == "superseded":
        refused = await platform.retention.post(f"/v1/retention-sweeps/{first['id']}/approve",
                                                headers=DPO)
        assert refused.status_code == 409
        assert second["id"] in refused.json()["error"]["message"]
    missing = await platform.retention.get(f"/v1/retention-sweeps/{uuid.uuid4()}", headers=DPO)
    assert missing.status_code == 404
    forbidden = await platform.retention.post("/v1/retention-sweeps",
                                              headers=auth("beheerder", tenant="t"))
    assert forbidden.status_code == 403
