"""Trainings, assignments, progress, logins, results and certificates (O4, O15)."""

from __future__ import annotations

import io
import uuid

from pypdf import PdfReader


async def test_o4_training_history_is_recorded_per_module(tr):
    tid = await tr.tenant()
    pid = await tr.participant(tid)
    training = await tr.training(modules=3)
    assert [m["position"] for m in training["modules"]] == [1, 2, 3]
    boss_id = str(uuid.uuid4())
    assignment = await tr.assign(tid, pid, training["id"], tr.beheerder(tid, sub=boss_id))
    assert assignment["assigned_by"] == boss_id and assignment["due_date"] == "2030-01-01"
    again = await tr.client.post(f"/v1/tenants/{tid}/assignments", headers=tr.beheerder(tid),
                                 json={"participant_id": pid, "training_id": training["id"]})
    assert again.status_code == 409

    me = tr.participant_auth(tid, pid)
    first, second, _ = (m["id"] for m in training["modules"])
    url = f"/v1/tenants/{tid}/participants/{pid}"
    r = await tr.client.put(f"{url}/progress/{first}", headers=me, json={"time_spent_s": 60})
    assert r.status_code == 200 and r.json()["completed_at"] is None
    r = await tr.client.put(f"{url}/progress/{first}", headers=me,
                            json={"time_spent_s": 300, "completed": True})
    assert r.json()["completed_at"] and r.json()["time_spent_s"] == 300
    assert r.json()["certificate_id"] is None
    await tr.client.put(f"{url}/progress/{second}", headers=me, json={"time_spent_s": 10})
    r = await tr.client.get(f"{url}/progress", headers=tr.beheerder(tid))
    assert [(p["position"], bool(p["completed_at"])) for p in r.json()["items"]] == [
        (1, True), (2, False)]
    # A module of a training that was not assigned is refused; so is an unknown module.
    other = await tr.training(modules=1, title="Other")
    r = await tr.client.put(f"{url}/progress/{other['modules'][0]['id']}", headers=me, json={})
    assert r.status_code == 409
    r = await tr.client.put(f"{url}/progress/{uuid.uuid4()}", headers=me, json={})
    assert r.status_code == 404
    # Beheerders follow progress but do not write it.
    r = await tr.client.put(f"{url}/progress/{first}", headers=tr.beheerder(tid), json={})
    assert r.status_code == 403

    assert (await tr.client.post(f"{url}/logins", headers=me)).status_code == 201
    r = await tr.client.get(f"{url}/logins", headers=me)
    assert len(r.json()["items"]) == 1
    r = await tr.client.get(f"/v1/tenants/{tid}/assignments", headers=tr.beheerder(tid))
    assert [a["participant_id"] for a in r.json()["items"]] == [pid]


async def test_o4_o3_certificate_issued_on_completion_verifiable_by_code_and_its_reads_logged(tr):
    tid = await tr.tenant()
    pid = await tr.participant(tid, name="Fenna Visser")
    training = await tr.training(modules=2, title="Veilig werken met persoonsgegevens")
    await tr.assign(tid, pid, training["id"])
    me = tr.participant_auth(tid, pid)
    url = f"/v1/tenants/{tid}/participants/{pid}"
    for module in training["modules"]:
        r = await tr.client.put(f"{url}/progress/{module['id']}", headers=me,
                                json={"completed": True, "time_spent_s": 100})
        assert r.json()["certificate_id"] is None  # no passing result yet
    failed = await tr.result(tid, pid, training["id"], 40, False)
    assert failed["certificate_id"] is None
    passed = await tr.result(tid, pid, training["id"], 91.5, True)
    assert passed["certificate_id"]

    listing = (await tr.client.get(f"{url}/certificates", headers=me)).json()["items"]
    assert len(listing) == 1
    certificate = listing[0]
    code = certificate["verification_code"]
    assert certificate["id"] == passed["certificate_id"]

    r = await tr.client.get(f"{url}/certificates/{certificate['id']}/pdf", headers=me)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(r.content))
    text = "".join(page.extract_text() for page in reader.pages)
    assert code in text
    assert "Fenna Visser" in text and "Veilig werken met persoonsgegevens" in text

    verified = (await tr.client.get(f"/v1/certificates/{code.lower()}")).json()
    assert verified["valid"] is True and verified["training"] == training["title"]
    assert "Fenna" not in str(verified)
    r = await tr.client.get(f"/v1/certificates/{code}/verification")
    assert r.json()["valid"] is True
    assert (await tr.client.get("/v1/certificates/AAAA-BBBB-CCCC")).json()["valid"] is False
    assert (await tr.client.get("/v1/certificates/%3Cscript%3E")).status_code == 422

    # The Beheerder may download it too (and that read is logged); another tenant may not.
    r = await tr.client.get(f"{url}/certificates/{certificate['id']}/pdf",
                            headers=tr.beheerder(tid))
    assert r.status_code == 200
    assert await tr.fetchval(
        "SELECT count(*) FROM access_log WHERE subject_id = $1::uuid::text AND what = 'certificate'",
        uuid.UUID(pid)) == 1
    r = await tr.client.get(f"{url}/certificates/{uuid.uuid4()}/pdf", headers=me)
    assert r.status_code == 404


async def test_o16_benchmark_counts_latest_result_per_participant(tr):
    tid = await tr.tenant()
    training = await tr.training(modules=1, title="Benchmark me")
    for score, passed in ((50, False), (70, True), (90, True)):
        pid = await tr.participant(tid)
        await tr.assign(tid, pid, training["id"])
        if score == 50:
            await tr.result(tid, pid, training["id"], 10, False)  # superseded attempt
        await tr.result(tid, pid, training["id"], score, passed)
    r = await tr.client.get(f"/v1/trainings/{training['id']}/benchmark",
                            headers=tr.participant_auth(tid, pid))
    module = training["modules"][0]["id"]
    assert r.json() == {"training_id": training["id"], "participants": 3, "mean_score": 70.0,
                        "pass_rate": 0.6667, "suppressed": False, "minimum_group": 1,
                        "modules": [{"module_id": module, "participants": 0, "completed": 0,
                                     "mean_time_spent_s": None}]}
    assert (await tr.client.get(f"/v1/trainings/{uuid.uuid4()}/benchmark",
                                headers=tr.operator)).status_code == 404


async def test_o1_operator_registers_beheerders_whose_id_is_their_token_sub(tr):
    tid = await tr.tenant()
    r = await tr.client.post(f"/v1/tenants/{tid}/beheerders", headers=tr.operator,
                             json={"name": "Petra Jansen", "email": "hr@example.org"})
    assert r.status_code == 201
    boss_id = r.json()["id"]
    r = await tr.client.get(f"/v1/tenants/{tid}/beheerders", headers=tr.beheerder(tid, boss_id))
    assert [b["id"] for b in r.json()["items"]] == [boss_id]
    r = await tr.client.post(f"/v1/tenants/{tid}/beheerders", headers=tr.operator,
                             json={"name": "BSN 111222333", "email": "x@example.org"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "bsn_not_allowed"
    r = await tr.client.post(f"/v1/tenants/{tid}/beheerders", headers=tr.beheerder(tid),
                             json={"name": "Self-made", "email": "y@example.org"})
    assert r.status_code == 403


async def test_o2_experts_public_profile_never_shows_the_email(tr):
    r = await tr.client.post("/v1/experts", headers=tr.operator, json={
        "name": "Dr. Anna Bakker", "email": "anna@example.org", "headline": "Privacy lawyer",
        "expertise": ["AVG"]})
    assert r.status_code == 201
    expert = r.json()["id"]
    tid = await tr.tenant()
    r = await tr.client.get(f"/v1/experts/{expert}", headers=tr.beheerder(tid))
    assert r.json()["name"] == "Dr. Anna Bakker" and "email" not in r.json()
    assert "anna@example.org" not in (await tr.client.get("/v1/experts",
                                                          headers=tr.beheerder(tid))).text
    r = await tr.client.post("/v1/experts", headers=tr.beheerder(tid),
                             json={"name": "X", "email": "x@example.org"})
    assert r.status_code == 403
