"""O2, O3, O19: who reaches whose records, and the access log that names the recipients."""

from __future__ import annotations

import uuid

from devstack.testing import auth, service_auth


async def _setup(tr):
    tid = await tr.tenant()
    pid = await tr.participant(tid)
    training = await tr.training(modules=1)
    await tr.assign(tid, pid, training["id"])
    await tr.result(tid, pid, training["id"], 80, True)
    return tid, pid, training


async def test_o2_another_tenants_beheerder_gets_403_on_every_participant_and_result_route(tr):
    tid, pid, training = await _setup(tr)
    other = await tr.tenant(name="Other Org")
    intruders = [auth("beheerder", tenant=other), auth("participant", tenant=other),
                 auth(["beheerder", "participant"], tenant=other)]
    module = training["modules"][0]["id"]
    base = f"/v1/tenants/{tid}"
    person = f"{base}/participants/{pid}"
    routes = [
        ("GET", f"{base}/participants", None), ("POST", f"{base}/participants",
                                                {"name": "X", "email": "x@example.org",
                                                 "birth_date": tr.adult()}),
        ("GET", person, None), ("PATCH", person, {"company": "Evil"}),
        ("GET", f"{person}/rectifications", None), ("GET", f"{person}/access-log", None),
        ("GET", f"{person}/export", None), ("GET", f"{person}/assignments", None),
        ("GET", f"{person}/progress", None), ("PUT", f"{person}/progress/{module}",
                                             {"completed": True}),
        ("GET", f"{person}/logins", None), ("POST", f"{person}/logins", None),
        ("GET", f"{person}/results", None),
        ("POST", f"{person}/results", {"training_id": training["id"], "score": 1,
                                       "passed": False}),
        ("GET", f"{person}/certificates", None),
        ("GET", f"{person}/certificates/{uuid.uuid4()}/pdf", None),
        ("GET", f"{base}/results", None), ("GET", f"{base}/assignments", None),
        ("POST", f"{base}/assignments", {"participant_id": pid, "training_id": training["id"]}),
        ("POST", f"{base}/participants/import", None), ("GET", f"{base}/beheerders", None),
        ("GET", base, None),
        # A participant id that does not exist still answers 403, not 404: nothing leaks.
        ("GET", f"{base}/participants/{uuid.uuid4()}", None),
    ]
    for headers in intruders:
        for method, url, body in routes:
            r = await tr.client.request(method, url, headers=headers, json=body)
            assert r.status_code == 403, (method, url, r.status_code, r.text)
            assert r.json()["error"]["code"] == "forbidden"
    assert await tr.fetchval("SELECT count(*) FROM access_log WHERE subject_id = $1::uuid::text",
                             uuid.UUID(pid)) == 0


async def test_o2_participant_reaches_only_own_records(tr):
    tid, pid, _ = await _setup(tr)
    colleague = await tr.participant(tid)
    mine = tr.participant_auth(tid, colleague)
    for suffix in ("", "/results", "/export", "/progress", "/access-log"):
        r = await tr.client.get(f"/v1/tenants/{tid}/participants/{pid}{suffix}", headers=mine)
        assert r.status_code == 403, suffix
    assert (await tr.client.get(f"/v1/tenants/{tid}/participants", headers=mine)).status_code \
        == 403
    assert (await tr.client.get(f"/v1/tenants/{tid}/results", headers=mine)).status_code == 403
    # ... and a token for the right person but another tenant is refused as well.
    wrong_tenant = auth("participant", tenant=str(uuid.uuid4()), sub=pid)
    assert (await tr.client.get(f"/v1/tenants/{tid}/participants/{pid}",
                                headers=wrong_tenant)).status_code == 403
    own = await tr.client.get(f"/v1/tenants/{tid}/participants/{pid}/results",
                              headers=tr.participant_auth(tid, pid))
    assert own.status_code == 200 and own.json()["items"][0]["score"] == 80


async def test_o2_beheerder_sees_results_of_trainings_the_organisation_assigned(tr):
    tid, pid, _training = await _setup(tr)
    boss = tr.beheerder(tid)
    r = await tr.client.get(f"/v1/tenants/{tid}/results", headers=boss)
    assert r.status_code == 200
    assert [(i["participant_id"], i["score"]) for i in r.json()["items"]] == [(pid, 80.0)]
    r = await tr.client.get(f"/v1/tenants/{tid}/results?training_id={uuid.uuid4()}",
                            headers=boss)
    assert r.json()["items"] == []
    # A result can only be recorded for an assigned training.
    unassigned = await tr.training(modules=1, title="Not assigned")
    r = await tr.client.post(f"/v1/tenants/{tid}/participants/{pid}/results",
                             headers=tr.participant_auth(tid, pid),
                             json={"training_id": unassigned["id"], "score": 50,
                                   "passed": False})
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_assigned"
    # Staff see across tenants.
    for staff in (tr.operator, tr.dpo):
        r = await tr.client.get(f"/v1/tenants/{tid}/participants/{pid}/results", headers=staff)
        assert r.status_code == 200


async def test_o3_o19_reads_by_others_are_logged_and_listed_as_recipients_in_the_export(tr):
    tid, pid, _ = await _setup(tr)
    boss_id = str(uuid.uuid4())
    boss = tr.beheerder(tid, sub=boss_id)
    # O2: this Beheerder sees the person in full because they assigned them a training.
    await tr.assign(tid, pid, (await tr.training(title="Tweede training"))["id"], beheerder=boss)
    me = tr.participant_auth(tid, pid)
    assert (await tr.client.get(f"/v1/tenants/{tid}/participants/{pid}", headers=me)) \
        .status_code == 200  # the person's own reads are not "recipients"
    assert (await tr.client.get(f"/v1/tenants/{tid}/participants/{pid}", headers=boss)) \
        .status_code == 200
    assert (await tr.client.get(f"/v1/tenants/{tid}/participants/{pid}/results", headers=boss)) \
        .status_code == 200
    dpo_id = str(uuid.uuid4())
    assert (await tr.client.get(f"/v1/tenants/{tid}/participants",
                                headers=auth("dpo", sub=dpo_id))).status_code == 200

    r = await tr.client.get(f"/v1/tenants/{tid}/participants/{pid}/export", headers=me)
    assert r.status_code == 200
    export = r.json()["data"]
    recipients = export["recipients"]["records"]
    assert [(e["actor"], e["what"], e["route"]) for e in recipients] == [
        (boss_id, "participant profile",
         "GET /v1/tenants/{tenant_id}/participants/{participant_id}"),
        (boss_id, "results", "GET /v1/tenants/{tenant_id}/participants/{participant_id}/results"),
        (dpo_id, "participant profile (list)", "GET /v1/tenants/{tenant_id}/participants"),
    ]
    assert recipients[0]["actor_roles"] == ["beheerder"]
    assert recipients[2]["actor_roles"] == ["dpo"]
    assert all(e["read_at"] for e in recipients)
    assert export["recipients"]["purpose"]
    # The export is complete: profile, history, results, with purposes and sources.
    assert export["participant_profile"]["records"]["id"] == pid
    assert export["results"]["records"][0]["score"] == 80
    assert export["assignments"]["records"][0]["assigned_by"]
    for section in ("participant_profile", "results", "assignments", "recipients"):
        assert export[section]["purpose"] and export[section]["source"]
        assert export[section]["legal_basis"]
    # The Beheerder may not export the person, and does not see the access log.
    for suffix in ("/export", "/access-log"):
        r = await tr.client.get(f"/v1/tenants/{tid}/participants/{pid}{suffix}", headers=boss)
        assert r.status_code == 403
    log = await tr.client.get(f"/v1/tenants/{tid}/participants/{pid}/access-log", headers=me)
    assert len(log.json()["items"]) == 3


async def test_o19_internal_export_and_inventory_for_the_other_services(tr):
    _tid, pid, _ = await _setup(tr)
    r = await tr.client.get(f"/internal/subjects/{pid}/export", headers=tr.dpo)
    assert r.status_code == 403, "staff tokens do not reach the internal endpoints"
    r = await tr.client.get(f"/internal/subjects/{pid}/export", headers=service_auth())
    assert r.status_code == 200 and r.json()["store"] == "training-records"
    assert r.json()["data"]["participant_profile"]["records"]["id"] == pid
    r = await tr.client.get("/internal/inventory", headers=service_auth("retention"))
    categories = {c["name"]: c for c in r.json()["categories"]}
    for name in ("participant_profile", "training_history", "login_times", "certificates",
                 "career", "access_log", "rectification_history"):
        c = categories[name]
        assert c["fields"] and c["purpose"] and c["legal_basis"] and c["retention_rule"]
        assert c["personal"] is True
    assert categories["training_benchmark"]["personal"] is False
    assert "while-account-exists" in categories["training_history"]["retention_rule"]
