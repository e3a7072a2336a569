"""O2 (seed 000 §5): a Beheerder sees the profile and results of the participants they (or their
team) registered or assigned; of the organisation's other participants only name and status,
unless the organisation chose one shared view. Staff keep their view. O3: staff reads need a
stated reason, and it is recorded."""

from __future__ import annotations

import uuid

from devstack.testing import auth

PROFILE = {"birth_date": "1990-04-01", "address": {"city": "Zwolle"}, "company": "Acme",
           "education": [{"institution": "Windesheim"}], "preferences": {"language": "nl"}}


async def _person_with_results(tr):
    tid = await tr.tenant()
    pid = await tr.participant(tid, name="Eva Smit", **PROFILE)
    training = await tr.training(modules=1)
    await tr.assign(tid, pid, training["id"])  # by the tenant's own Beheerder (tr.beheerder)
    await tr.result(tid, pid, training["id"], 70, True)
    return tid, pid, training


def _summary_only(body, pid):
    assert body["id"] == pid and body["name"] == "Eva Smit"
    assert body["status"] == "active" and body["view"] == "summary"
    for field in ("email", "birth_date", "address", "company", "education", "work_history",
                  "preferences", "phone"):
        assert body[field] is None, field


async def _register_beheerder(tr, tid, team=None):
    body = {"name": "B", "email": f"{uuid.uuid4().hex[:8]}@example.org"}
    if team:
        body["team"] = team
    r = await tr.client.post(f"/v1/tenants/{tid}/beheerders", headers=tr.operator, json=body)
    assert r.status_code == 201, r.text
    assert r.json()["team"] == team
    return tr.beheerder(tid, sub=r.json()["id"])


async def test_o2_a_beheerder_who_did_not_assign_a_participant_sees_only_name_and_status(tr):
    tid, pid, _ = await _person_with_results(tr)
    stranger_id = str(uuid.uuid4())
    stranger = tr.beheerder(tid, sub=stranger_id)  # same organisation, not theirs
    base = f"/v1/tenants/{tid}"
    person = f"{base}/participants/{pid}"

    r = await tr.client.get(person, headers=stranger)
    assert r.status_code == 200
    _summary_only(r.json(), pid)
    listed = await tr.client.get(f"{base}/participants", headers=stranger)
    [item] = [i for i in listed.json()["items"] if i["id"] == pid]
    _summary_only(item, pid)
    # Results and the rest of the profile: refused, with what to do about it.
    for suffix in ("/results", "/assignments", "/progress", "/logins", "/certificates",
                   "/rectifications"):
        r = await tr.client.get(f"{person}{suffix}", headers=stranger)
        assert r.status_code == 403, (suffix, r.text)
        assert r.json()["error"]["code"] == "not_assigned"
    r = await tr.client.patch(person, headers=stranger, json={"company": "Other"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_assigned"
    for tenant_list in ("/results", "/assignments"):
        r = await tr.client.get(f"{base}{tenant_list}", headers=stranger)
        assert r.status_code == 200
        assert all(i["participant_id"] != pid for i in r.json()["items"]), tenant_list
    # The read of name and status is attributable too (O3).
    what = await tr.fetchval(
        "SELECT what FROM access_log WHERE subject_id = $1 AND actor_sub = $2 ORDER BY id LIMIT 1",
        pid, stranger_id)
    assert what == "participant name and status"

    # The Beheerder who registered and assigned them sees everything; so does staff.
    for full in (tr.beheerder(tid), tr.dpo):
        r = await tr.client.get(person, headers=full)
        assert r.json()["view"] == "full" and r.json()["birth_date"] == "1990-04-01"
        assert r.json()["address"]["city"] == "Zwolle"
        r = await tr.client.get(f"{person}/results", headers=full)
        assert [i["score"] for i in r.json()["items"]] == [70.0]

    # Once the stranger assigns them a training, they are theirs too.
    await tr.assign(tid, pid, (await tr.training(title="Tweede"))["id"], beheerder=stranger)
    r = await tr.client.get(person, headers=stranger)
    assert r.json()["view"] == "full" and r.json()["company"] == "Acme"
    assert (await tr.client.get(f"{person}/results", headers=stranger)).status_code == 200


async def test_o2_beheerders_of_one_team_see_the_participants_any_of_them_assigned(tr):
    tid = await tr.tenant()
    pid = await tr.participant(tid, name="Eva Smit", **PROFILE)
    north_a = await _register_beheerder(tr, tid, team="Noord")
    north_b = await _register_beheerder(tr, tid, team="Noord")
    south = await _register_beheerder(tr, tid, team="Zuid")
    await tr.assign(tid, pid, (await tr.training())["id"], beheerder=north_a)
    person = f"/v1/tenants/{tid}/participants/{pid}"
    assert (await tr.client.get(person, headers=north_b)).json()["view"] == "full"
    assert (await tr.client.get(f"{person}/results", headers=north_b)).status_code == 200
    _summary_only((await tr.client.get(person, headers=south)).json(), pid)


async def test_o2_the_shared_view_setting_gives_every_beheerder_the_full_view(tr):
    tid, pid, _ = await _person_with_results(tr)
    stranger = tr.beheerder(tid, sub=str(uuid.uuid4()))
    person = f"/v1/tenants/{tid}/participants/{pid}"
    assert (await tr.client.get(person, headers=stranger)).json()["view"] == "summary"
    # A Beheerder cannot widen their own view; the operator sets it for the organisation.
    r = await tr.client.patch(f"/v1/tenants/{tid}", headers=stranger,
                              json={"beheerder_view": "shared"})
    assert r.status_code == 403
    r = await tr.client.patch(f"/v1/tenants/{tid}", headers=tr.operator,
                              json={"beheerder_view": "shared"})
    assert r.status_code == 200 and r.json()["beheerder_view"] == "shared"
    body = (await tr.client.get(person, headers=stranger)).json()
    assert body["view"] == "full" and body["birth_date"] == "1990-04-01"
    r = await tr.client.get(f"{person}/results", headers=stranger)
    assert [i["score"] for i in r.json()["items"]] == [70.0]
    # Never across organisations.
    other = await tr.tenant(name="Elders B.V.")
    assert (await tr.client.get(person, headers=tr.beheerder(other))).status_code == 403


async def test_o3_a_staff_read_without_a_reason_is_refused_and_with_one_recorded(tr):
    tid, pid, _ = await _person_with_results(tr)
    dpo = str(uuid.uuid4())
    person = f"/v1/tenants/{tid}/participants/{pid}"
    for url in (person, f"{person}/results", f"/v1/tenants/{tid}/participants"):
        r = await tr.client.get(url, headers=auth("dpo", sub=dpo, reason=None))
        assert r.status_code == 400, url
        assert r.json()["error"]["code"] == "access_reason_required"
        assert "X-Access-Reason" in r.json()["error"]["message"]
    assert await tr.fetchval("SELECT count(*) FROM access_log WHERE actor_sub = $1", dpo) == 0

    r = await tr.client.get(person, headers=auth("dpo", sub=dpo, reason="case 2026-118"))
    assert r.status_code == 200
    row = await tr.fetchval(
        "SELECT row(reason, purpose, tenant_id) FROM access_log WHERE actor_sub = $1", dpo)
    assert row[0] == "case 2026-118" and "staff" in row[1] and row[2] == tid
    # The person sees the reason among the recipients of their data.
    log = await tr.client.get(f"{person}/access-log", headers=tr.participant_auth(tid, pid))
    assert [e["reason"] for e in log.json()["items"] if e["actor"] == dpo] == ["case 2026-118"]
