"""Carrying out what the controller decided: the access bundle (O19), erasure (O25),
rectification (O24), restriction and objection (O19), all across the real stores over HTTP."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest_asyncio

from devstack.infra import free_port
from devstack.testing import app_client, auth, read_events, wait_for
from privacy_kit.events import Topic
from privacy_kit.protocol import SubjectRectified, payload_of
from subject_rights.main import create_app as create_subject_rights

DPO = auth("dpo")


async def _with_data_everywhere(rights, tenant, name: str):
    """A participant with rows in all five stores, made through the stores' own APIs."""
    person = await rights.participant(tenant, name=name)
    consent = await rights.consent.put(f"/v1/subjects/{person.id}/consents/newsletter",
                                       headers=person.auth, json={"granted": True})
    assert consent.status_code == 200, consent.text
    read = await rights.tr.get(f"/v1/tenants/{tenant}/participants/{person.id}",
                               headers=rights.beheerder(tenant))
    assert read.status_code == 200  # the Beheerder's read goes into the access log
    breach = await rights.http["breach"].post("/v1/breaches", headers=DPO, json={
        "title": "Lost laptop", "description": "A laptop with an export was lost.",
        "discovered_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "affected_subject_ids": [person.id]})
    assert breach.status_code == 201, breach.text
    return person


def _unzip(content: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        return {name: zf.read(name).decode() for name in zf.namelist()}


async def test_o19_an_access_bundle_holds_data_from_every_store_and_nothing_of_another_person(rights) -> None:
    tenant = await rights.tenant()
    person = await _with_data_everywhere(rights, tenant, "Anna Jansen")
    neighbour = await _with_data_everywhere(rights, tenant, "Bram Pietersen")
    filed = await rights.file(person.auth, kind="portability")
    approved = await rights.sr.post(f"/v1/subject-requests/{filed['id']}/approval",
                                    headers=rights.beheerder(tenant), json={})
    assert approved.status_code == 200, approved.text
    case = approved.json()
    assert case["status"] == "completed"
    assert case["bundle"]["complete"]
    assert set(case["bundle"]["stores"]) == {"training-records", "consent", "retention",
                                             "breach", "subject-rights",
                                             "processing-register (retention)"}

    download = await rights.sr.get(f"/v1/subject-requests/{filed['id']}/bundle",
                                   headers=person.auth)
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/zip"
    files = _unzip(download.content)
    for store in ("training-records", "consent", "retention", "breach", "subject-rights"):
        assert f"stores/{store}.json" in files
    assert "Anna Jansen" in files["stores/training-records.json"]
    assert person.email in files["stores/training-records.json"]
    assert "newsletter" in files["stores/consent.json"]
    assert "Lost laptop" in files["stores/breach.json"]
    assert filed["id"] in files["stores/subject-rights.json"]
    assert "tables/consent/ledger.csv" in files  # portability: a CSV per table
    assert any(name.startswith("tables/training-records/") for name in files)
    manifest = json.loads(files["manifest.json"])
    assert manifest["complete"] and manifest["missing"] == []
    categories = json.loads(files["categories.json"])
    profile = next(c for c in categories if c["category"] == "participant_profile")
    assert profile["purpose"] and profile["legal_basis"] and profile["retention"]
    assert profile["recipients"] and profile["sources"]
    readers = json.loads(files["who_read_your_data.json"])
    assert any(r["actor"] == f"beheerder-{tenant[:8]}" for r in readers)
    everything = "".join(files.values())
    for trace in (neighbour.id, neighbour.email, "Bram Pietersen"):
        assert trace not in everything

    # Their Beheerder may download it too; nobody else; every download is logged.
    assert (await rights.sr.get(f"/v1/subject-requests/{filed['id']}/bundle",
                                headers=rights.beheerder(tenant))).status_code == 200
    for outsider in (DPO, neighbour.auth, rights.beheerder(await rights.tenant())):
        assert (await rights.sr.get(f"/v1/subject-requests/{filed['id']}/bundle",
                                    headers=outsider)).status_code == 403
    downloads = await rights.sql("subject-rights", "SELECT actor FROM bundle_download WHERE "
                                 "request_id = $1::uuid ORDER BY id", filed["id"])
    assert [d["actor"] for d in downloads] == [person.id, f"beheerder-{tenant[:8]}"]


@pytest_asyncio.fixture(loop_scope="session")
async def broken_breach(rights) -> AsyncIterator:
    """A second subject-rights on the same database whose breach store does not answer."""
    settings = rights.settings["subject-rights"].model_copy(update={
        "breach_url": f"http://127.0.0.1:{free_port()}", "consumers_enabled": False,
        "relay_enabled": False, "smtp_url": "", "migrate_on_start": False})
    async with app_client(create_subject_rights(settings)) as client:
        yield client


async def test_o19_a_store_that_fails_makes_the_bundle_incomplete_and_names_it(rights, broken_breach) -> None:
    tenant = await rights.tenant()
    person = await rights.participant(tenant)
    filed = await rights.file(person.auth, kind="access")
    approved = await broken_breach.post(f"/v1/subject-requests/{filed['id']}/approval",
                                        headers=rights.beheerder(tenant), json={})
    assert approved.status_code == 200, approved.text
    case = approved.json()
    assert case["status"] == "in_progress"  # never silently partial
    assert not case["bundle"]["complete"]
    assert case["bundle"]["stores"]["breach"].startswith("failed")
    assert case["bundle"]["stores"]["consent"] == "included"
    assert case["history"][-1]["action"] == "bundle_incomplete"
    assert "breach" in case["history"][-1]["note"]
    files = _unzip((await rights.sr.get(f"/v1/subject-requests/{filed['id']}/bundle",
                                        headers=person.auth)).content)
    assert json.loads(files["manifest.json"])["missing"] == ["breach"]

    # The controller asks again once the store is back.
    again = await rights.sr.post(f"/v1/subject-requests/{filed['id']}/bundle",
                                 headers=rights.beheerder(tenant), json={})
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "completed" and again.json()["bundle"]["complete"]


async def test_o19_a_bundle_is_gone_after_its_expiry(rights) -> None:
    tenant = await rights.tenant()
    person = await rights.participant(tenant)
    filed = await rights.file(person.auth, kind="access")
    assert (await rights.sr.post(f"/v1/subject-requests/{filed['id']}/approval",
                                 headers=rights.beheerder(tenant), json={})).status_code == 200
    await rights.sql("subject-rights", "UPDATE access_bundle SET expires_at = now() - interval "
                     "'1 second' WHERE request_id = $1::uuid", filed["id"])
    gone = await rights.sr.get(f"/v1/subject-requests/{filed['id']}/bundle", headers=person.auth)
    assert gone.status_code == 410
    assert await rights.sql("subject-rights", "SELECT id FROM access_bundle WHERE request_id = "
                            "$1::uuid", filed["id"]) == []
    assert (await rights.case(filed["id"], person.auth))["bundle"] is None
    # The sweep deletes expired bundles nobody came back for.
    other = await rights.file(person.auth, kind="access")
    await rights.sr.post(f"/v1/subject-requests/{other['id']}/approval",
                         headers=rights.beheerder(tenant), json={})
    await rights.sql("subject-rights", "UPDATE access_bundle SET expires_at = now() WHERE "
                     "request_id = $1::uuid", other["id"])
    from subject_rights.sweeps import sweep_once
    counts = await sweep_once(rights.apps["subject-rights"].state.pool,
                              rights.settings["subject-rights"])
    assert counts["bundles_deleted"] >= 1
    assert await rights.sql("subject-rights", "SELECT id FROM access_bundle WHERE request_id = "
                            "$1::uuid", other["id"]) == []


async def test_o25_an_approved_erasure_completes_with_its_job_and_the_record_outlives_the_data(rights) -> None:
    tenant = await rights.tenant()
    person = await _with_data_everywhere(rights, tenant, "Carla de Boer")
    opened = await rights.sr.post(f"/v1/subjects/{person.id}/erasure-request",
                                  headers=person.auth, json={"details": "Delete my account."})
    assert opened.status_code == 201, opened.text
    case = opened.json()
    assert case["kind"] == "erasure" and case["status"] == "verified"
    assert case["tenant_id"] == tenant  # in the controller's inbox
    someone_else = await rights.sr.post(f"/v1/subjects/{person.id}/erasure-request",
                                        headers=rights.beheerder(tenant), json={})
    assert someone_else.status_code == 403

    beheerder = rights.beheerder(tenant)
    approved = await rights.sr.post(f"/v1/subject-requests/{case['id']}/approval",
                                    headers=beheerder, json={"note": "Go ahead."})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "in_progress" and approved.json()["erasure_job_id"]

    done = await rights.wait_status(case["id"], "completed", beheerder)
    certificate = done["outcome"]["certificate"]
    assert certificate["job_id"] == done["erasure_job_id"] and certificate["signature"]
    assert set(certificate["stores"]) == {"training-records", "consent", "retention", "breach",
                                          "subject-rights"}
    assert done["outcome"]["kept"] == []
    # The record outlives the data: kind, dates, outcome, certificate; no id, no words.
    assert done["subject_id"] is None and done["details"] == ""
    assert done["received_at"] and done["closed_at"]
    assert [h["action"] for h in done["history"]] == ["received", "verified", "approved",
                                                       "completed"]
    assert done["history"][0]["actor"] == "(erased person)"
    assert person.id not in json.dumps(done)
    rows = await rights.sql("subject-rights", "SELECT subject_hash FROM subject_request "
                            "WHERE id = $1::uuid", case["id"])
    assert rows[0]["subject_hash"]
    # The person, should they still hold a token, still sees the answer to their request.
    assert (await rights.case(case["id"], person.auth))["status"] == "completed"
    gone = await rights.tr.get(f"/v1/tenants/{tenant}/participants/{person.id}",
                               headers=beheerder)
    assert gone.status_code == 404


async def test_o25_an_erasure_under_a_legal_hold_is_refused_with_what_is_kept_and_why(rights) -> None:
    tenant = await rights.tenant()
    person = await rights.participant(tenant)
    hold = await rights.retention.post("/v1/legal-holds", headers=DPO, json={
        "subject_id": person.id, "reason": "Claim filed by the participant, case 2026-114"})
    assert hold.status_code == 201
    filed = await rights.file(person.auth, kind="erasure")
    decided = await rights.sr.post(f"/v1/subject-requests/{filed['id']}/approval",
                                   headers=rights.beheerder(tenant), json={})
    assert decided.status_code == 200, decided.text
    case = decided.json()
    assert case["status"] == "refused" and case["refusal"]["ground"] == "legal_claims"
    assert case["outcome"]["kept"][0]["ground"] == "Claim filed by the participant, case 2026-114"
    assert case["outcome"]["kept"][0]["legal_basis"].startswith("the data is needed")
    assert "Autoriteit Persoonsgegevens" in case["refusal"]["complaint"]


async def test_o25_an_erasure_completed_with_holds_tells_what_was_kept_and_on_which_ground(
    rights,
) -> None:
    """Retention's certificate names what legal holds kept (`held`, `holds`); the case that
    waited for the job reports it: per store and category, with the hold's lawful ground and
    reference, never its free text."""
    tenant = await rights.tenant()
    person = await _with_data_everywhere(rights, tenant, "Daan Visser")
    case = await rights.file(person.auth, kind="erasure")
    hold = await rights.retention.post("/v1/legal-holds", headers=DPO, json={
        "tenant_id": tenant, "category": "consent-ledger", "ground": "legal_obligation",
        "reference": "audit 2026-7", "reason": "The auditor of Daan Visser's employer"})
    assert hold.status_code == 201, hold.text
    # The organisation's contract ends: its whole data goes, but the held category.
    job = await rights.retention.post("/v1/erasure-jobs", headers=DPO, json={
        "scope": "tenant", "tenant_id": tenant, "reason": "contract ended"})
    assert job.status_code == 202, job.text
    job_id = job.json()["id"]

    async def finished() -> dict | None:
        body = (await rights.retention.get(f"/v1/erasure-jobs/{job_id}", headers=DPO)).json()
        return body if body["status"] == "completed_with_holds" else None

    await wait_for(finished, timeout=30, what="the job to complete with holds")
    # The case waits for this job, as an approved erasure request does for its own.
    await rights.sql("subject-rights", "UPDATE subject_request SET status = 'in_progress', "
                     "erasure_job_id = $2::uuid WHERE id = $1::uuid", case["id"], job_id)
    from subject_rights.cases import flows
    async with rights.apps["subject-rights"].state.pool.acquire() as conn:
        await flows.complete_erasure(conn, None, rights.settings["subject-rights"],
                                     uuid.UUID(job_id))
    done = await rights.case(case["id"])
    assert done["status"] == "completed"
    assert done["outcome"]["certificate"]["held"]["consent"]["consent-ledger"] >= 1
    kept = [k for k in done["outcome"]["kept"] if k["store"] == "consent"]
    assert kept and kept[0]["category"] == "consent-ledger" and kept[0]["records"] >= 1
    assert (kept[0]["ground"], kept[0]["reference"]) == ("legal_obligation", "audit 2026-7")
    assert kept[0]["legal_basis"].startswith("GDPR Art. 17(3)(b)")
    assert "Daan Visser" not in json.dumps(done["outcome"])
    assert "legal hold" in done["history"][-1]["note"]


async def test_o25_a_beheerder_starts_an_erasure_job_only_for_their_own_participant(rights) -> None:
    tenant = await rights.tenant()
    person = await rights.participant(tenant)
    beheerder = rights.beheerder(tenant)
    own = await rights.retention.post("/v1/erasure-jobs", headers=beheerder, json={
        "scope": "subject", "subject_id": person.id, "reason": "left the organisation"})
    assert own.status_code == 202, own.text
    for body in ({"scope": "tenant", "tenant_id": tenant, "reason": "all"},
                 {"scope": "subject", "subject_id": str(uuid.uuid4()), "reason": "unknown"}):
        r = await rights.retention.post("/v1/erasure-jobs", headers=beheerder, json=body)
        assert r.status_code == 403, r.text
    participant = await rights.retention.post("/v1/erasure-jobs", headers=person.auth, json={
        "scope": "subject", "subject_id": person.id, "reason": "me"})
    assert participant.status_code == 403


async def test_o24_rectification_is_applied_by_its_store_and_lists_the_recipients_told(rights) -> None:
    tenant = await rights.tenant()
    person = await rights.participant(tenant, name="Daan Smit")
    filed = await rights.file(person.auth, kind="rectification",
                              details="My name is misspelt.", rectification={"name": "Daan Smits"})
    approved = await rights.sr.post(f"/v1/subject-requests/{filed['id']}/approval",
                                    headers=rights.beheerder(tenant), json={})
    assert approved.status_code == 200, approved.text
    case = approved.json()
    assert case["status"] == "completed"
    assert case["outcome"]["changed_fields"] == ["name"]
    told = case["outcome"]["recipients_told"]
    recipients = {t["recipient"] for t in told}
    assert "the client organisation (controller) and its Beheerders" in recipients
    assert "platform operators and DPO" in recipients
    assert {"store consent", "store retention", "store breach", "store subject-rights"} <= recipients
    assert all(t["told_at"] and t["via"] for t in told)

    profile = await rights.tr.get(f"/v1/tenants/{tenant}/participants/{person.id}",
                                  headers=person.auth)
    assert profile.json()["name"] == "Daan Smits"
    history = await rights.tr.get(f"/v1/tenants/{tenant}/participants/{person.id}/rectifications",
                                  headers=person.auth)
    assert history.json()["items"][0]["changed_by"] == f"beheerder-{tenant[:8]}"
    events = await read_events(rights.suite.kafka_bootstrap, rights.suite.topic(Topic.SUBJECT),
                               match=lambda e: e.type == "subject.rectified"
                               and e.subject_id == person.id)
    assert payload_of(events[0], SubjectRectified).fields == ["name"]
    assert "Daan" not in events[0].model_dump_json()  # names of fields, never values


async def test_o19_a_restriction_is_confirmed_by_every_store_and_lifting_ends_it_everywhere(rights) -> None:
    tenant = await rights.tenant()
    person = await rights.participant(tenant)
    assert (await rights.consent.put(f"/v1/subjects/{person.id}/consents/newsletter",
                                     headers=person.auth, json={"granted": True})).status_code == 200
    filed = await rights.file(person.auth, kind="restriction", details="Data is wrong.")
    beheerder = rights.beheerder(tenant)
    approved = await rights.sr.post(f"/v1/subject-requests/{filed['id']}/approval",
                                    headers=beheerder, json={})
    assert approved.status_code == 200 and approved.json()["status"] == "in_progress"

    done = await rights.wait_status(filed["id"], "completed", beheerder)
    confirmed = done["outcome"]["restriction"]["confirmed"]
    assert set(confirmed) == {"training-records", "consent", "retention", "breach",
                              "subject-rights"}
    assert all(datetime.fromisoformat(at) for at in confirmed.values())
    assert done["history"][-1]["note"] == "every store confirmed the restriction"

    consents = (await rights.consent.get(f"/v1/subjects/{person.id}/consents",
                                         headers=person.auth)).json()
    assert consents["restricted"]
    assert not any(c["granted"] for c in consents["consents"].values())
    assert consents["consents"]["newsletter"]["source"] == "restricted"
    # The person's own withdrawal still records; training-records refuses processing writes.
    withdrawal = await rights.consent.put(f"/v1/subjects/{person.id}/consents/newsletter",
                                          headers=person.auth, json={"granted": False})
    assert withdrawal.status_code == 200
    write = await rights.tr.patch(f"/v1/tenants/{tenant}/participants/{person.id}",
                                  headers=beheerder, json={"phone": "0612345678"})
    assert write.status_code == 409 and write.json()["error"]["code"] == "restricted"

    lifted = await rights.sr.post(f"/v1/subject-requests/{filed['id']}/restriction-lift",
                                  headers=beheerder, json={"note": "Corrected."})
    assert lifted.status_code == 200, lifted.text

    async def lifted_everywhere():
        case = await rights.case(filed["id"], beheerder)
        return case if case["outcome"]["restriction"].get("lifted_at") else None

    ended = await wait_for(lifted_everywhere, what="every store to confirm the lift")
    assert set(ended["outcome"]["restriction"]["lift_confirmed"]) == set(confirmed)
    consents = (await rights.consent.get(f"/v1/subjects/{person.id}/consents",
                                         headers=person.auth)).json()
    assert not consents["restricted"]
    assert consents["consents"]["newsletter"]["source"] == "record"
    write = await rights.tr.patch(f"/v1/tenants/{tenant}/participants/{person.id}",
                                  headers=beheerder, json={"phone": "0612345678"})
    assert write.status_code == 200, write.text


async def test_o19_an_objection_is_confirmed_by_every_store(rights) -> None:
    visitor = rights.platform_user()
    filed = await rights.file(visitor.auth, kind="objection", details="No profiling.")
    approved = await rights.sr.post(f"/v1/subject-requests/{filed['id']}/approval",
                                    headers=DPO, json={})
    assert approved.status_code == 200, approved.text
    done = await rights.wait_status(filed["id"], "completed")
    assert done["outcome"]["restriction"]["cause"] == "objected"
    assert len(done["outcome"]["restriction"]["confirmed"]) == 5
    events = await read_events(rights.suite.kafka_bootstrap, rights.suite.topic(Topic.SUBJECT),
                               match=lambda e: e.type == "subject.objected"
                               and e.subject_id == visitor.id)
    assert events[0].data == {}  # ids only, in the envelope
