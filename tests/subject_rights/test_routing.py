"""Routing (O23), who sees what (O1, O2) and the person's own view, through HTTP."""

from __future__ import annotations

from datetime import UTC, date, datetime

from devstack.testing import auth
from subject_rights.deadlines import local_date

DPO = auth("dpo")


def today() -> date:
    return local_date(datetime.now(UTC))


async def _inbox_ids(rights, headers, **params) -> set[str]:
    r = await rights.sr.get("/v1/subject-requests", headers=headers, params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"items", "next_cursor"}
    return {item["id"] for item in body["items"]}


async def test_o23_a_participants_request_lands_in_their_tenants_inbox_and_nowhere_else(rights) -> None:
    tenant_a, tenant_b = await rights.tenant(), await rights.tenant()
    person = await rights.participant(tenant_a)
    filed = await rights.file(person.auth, kind="access", details="A copy, please.")
    assert {"id", "kind", "status", "due_at"} <= set(filed)
    assert filed["kind"] == "access" and filed["status"] == "verified"
    assert filed["controller"] == "tenant" and filed["tenant_id"] == tenant_a

    assert filed["id"] in await _inbox_ids(rights, rights.beheerder(tenant_a), tenant_id=tenant_a)
    assert filed["id"] not in await _inbox_ids(rights, rights.beheerder(tenant_b),
                                               tenant_id=tenant_b)
    assert filed["id"] not in await _inbox_ids(rights, DPO)  # the platform's own inbox
    # Staff can look into a tenant's inbox (to record its written instruction), by name.
    assert filed["id"] in await _inbox_ids(rights, DPO, tenant_id=tenant_a)


async def test_o23_a_platform_users_request_lands_in_the_dpos_inbox(rights) -> None:
    visitor = rights.platform_user()
    tenant = await rights.tenant()
    filed = await rights.file(visitor.auth, kind="objection", details="Stop profiling me.")
    assert filed["controller"] == "platform" and filed["tenant_id"] is None
    assert filed["id"] in await _inbox_ids(rights, DPO)
    assert filed["id"] not in await _inbox_ids(rights, rights.beheerder(tenant), tenant_id=tenant)


async def test_o1_a_beheerder_never_sees_or_files_for_another_tenants_participant(rights) -> None:
    tenant_a, tenant_b = await rights.tenant(), await rights.tenant()
    person = await rights.participant(tenant_a)
    filed = await rights.file(person.auth, kind="erasure")
    other = rights.beheerder(tenant_b)

    listed = await rights.sr.get("/v1/subject-requests", headers=other,
                                 params={"tenant_id": tenant_a})
    assert listed.status_code == 403
    assert (await rights.sr.get(f"/v1/subject-requests/{filed['id']}", headers=other)).status_code == 403
    # Today's bug: a Beheerder of another tenant filed an erasure about someone else's participant.
    foreign = await rights.sr.post("/v1/subject-requests", headers=other, json={
        "kind": "erasure", "subject_id": person.id, "channel": "email",
        "received_on": today().isoformat()})
    assert foreign.status_code == 403, foreign.text
    assert "own organisation" in foreign.json()["error"]["message"]
    approve = await rights.sr.post(f"/v1/subject-requests/{filed['id']}/approval", headers=other,
                                   json={})
    assert approve.status_code == 403
    # Nor may they erase that participant directly at retention (O25, fixed route).
    job = await rights.retention.post("/v1/erasure-jobs", headers=other, json={
        "scope": "subject", "subject_id": person.id, "reason": "not mine"})
    assert job.status_code == 403, job.text


async def test_o19_the_person_sees_their_own_case_and_its_history_and_no_one_elses(rights) -> None:
    tenant = await rights.tenant()
    person, neighbour = await rights.participant(tenant), await rights.participant(tenant)
    filed = await rights.file(person.auth, kind="portability")
    mine = await rights.sr.get("/v1/subject-requests", headers=person.auth)
    assert [i["id"] for i in mine.json()["items"]] == [filed["id"]]
    case = await rights.case(filed["id"], person.auth)
    assert [h["action"] for h in case["history"]] == ["received", "verified"]
    assert case["history"][0]["actor"] == person.id and case["history"][0]["at"]
    assert (await rights.sr.get(f"/v1/subject-requests/{filed['id']}",
                                headers=neighbour.auth)).status_code == 403
    assert (await rights.sr.get("/v1/subject-requests", headers=neighbour.auth,
                                params={"tenant_id": tenant})).status_code == 403
