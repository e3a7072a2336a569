"""Who decides (O1, O23) and refusal only on a ground the law accepts (O22)."""

from __future__ import annotations

import asyncpg
import pytest

from devstack.testing import auth

DPO = auth("dpo")


async def test_o22_a_refusal_without_an_accepted_ground_is_refused(rights) -> None:
    tenant = await rights.tenant()
    person = await rights.participant(tenant)
    filed = await rights.file(person.auth, kind="access")
    url = f"/v1/subject-requests/{filed['id']}/refusal"
    beheerder = rights.beheerder(tenant)
    for ground in ("too_much_technical_effort", "it is in a backup", "busy"):
        r = await rights.sr.post(url, headers=beheerder, json={"ground": ground,
                                                               "explanation": "No."})
        assert r.status_code == 422, r.text
        message = r.json()["error"]["message"]
        assert r.json()["error"]["code"] == "ground_not_accepted"
        for named in ("manifestly_unfounded", "excessive", "rights_of_others",
                      "'too much technical effort'", "'it is in a backup'"):
            assert named in message
    # The exceptions to erasure are no grounds to refuse an access request.
    legal = await rights.sr.post(url, headers=beheerder, json={"ground": "legal_claims",
                                                               "explanation": "Claim."})
    assert legal.status_code == 422
    assert (await rights.case(filed["id"]))["status"] == "verified"


async def test_o22_a_refusal_names_its_ground_and_the_right_to_complain_to_the_ap(rights) -> None:
    tenant = await rights.tenant()
    person = await rights.participant(tenant)
    filed = await rights.file(person.auth, kind="erasure")
    refused = await rights.sr.post(f"/v1/subject-requests/{filed['id']}/refusal",
                                   headers=rights.beheerder(tenant),
                                   json={"ground": "legal_obligation",
                                         "explanation": "Invoices are kept seven years."})
    assert refused.status_code == 200, refused.text
    case = refused.json()
    assert case["status"] == "refused" and case["closed_at"]
    assert case["refusal"]["ground"] == "legal_obligation"
    assert "Autoriteit Persoonsgegevens" in case["refusal"]["complaint"]
    seen = await rights.case(filed["id"], person.auth)
    assert seen["refusal"]["explanation"] == "Invoices are kept seven years."
    assert seen["history"][-1]["action"] == "refused"
    # Closed: nothing more to decide.
    again = await rights.sr.post(f"/v1/subject-requests/{filed['id']}/approval",
                                 headers=rights.beheerder(tenant), json={})
    assert again.status_code == 409


async def test_o23_the_platform_dpo_decides_a_tenants_case_only_on_its_written_instruction(rights) -> None:
    tenant = await rights.tenant()
    person = await rights.participant(tenant)
    filed = await rights.file(person.auth, kind="automated-decision-review",
                              details="Why was I not admitted to the exam?")
    url = f"/v1/subject-requests/{filed['id']}/approval"
    alone = await rights.sr.post(url, headers=DPO, json={"note": "Reviewed."})
    assert alone.status_code == 403 and alone.json()["error"]["code"] == "tenant_decides"
    operator = await rights.sr.post(url, headers=auth("operator"), json={
        "note": "Reviewed.", "instruction_reference": "mail 12"})
    assert operator.status_code == 403
    instructed = await rights.sr.post(url, headers=DPO, json={
        "note": "A person reviewed it: the exam rule was applied correctly.",
        "instruction_reference": "Mail of the organisation, 18 Nov"})
    assert instructed.status_code == 200, instructed.text
    case = instructed.json()
    assert case["status"] == "completed"
    assert case["decision"]["instruction_reference"] == "Mail of the organisation, 18 Nov"
    assert case["history"][-1]["actor_role"] == "dpo"


async def test_o23_a_platform_users_case_is_decided_by_the_dpo_and_no_beheerder(rights) -> None:
    visitor = rights.platform_user()
    tenant = await rights.tenant()
    filed = await rights.file(visitor.auth, kind="automated-decision-review")
    url = f"/v1/subject-requests/{filed['id']}/approval"
    assert (await rights.sr.post(url, headers=rights.beheerder(tenant),
                                 json={"note": "x"})).status_code == 403
    needs_note = await rights.sr.post(url, headers=DPO, json={})
    assert needs_note.status_code == 422
    done = await rights.sr.post(url, headers=DPO, json={"note": "Reviewed by a person."})
    assert done.status_code == 200 and done.json()["status"] == "completed"


async def test_o19_the_person_can_withdraw_a_request_not_yet_carried_out(rights) -> None:
    tenant = await rights.tenant()
    person = await rights.participant(tenant)
    filed = await rights.file(person.auth, kind="objection")
    assert (await rights.sr.post(f"/v1/subject-requests/{filed['id']}/withdrawal",
                                 headers=rights.beheerder(tenant))).status_code == 403
    gone = await rights.sr.post(f"/v1/subject-requests/{filed['id']}/withdrawal",
                                headers=person.auth)
    assert gone.status_code == 200 and gone.json()["status"] == "withdrawn"


async def test_o19_the_history_is_append_only(rights) -> None:
    tenant = await rights.tenant()
    person = await rights.participant(tenant)
    filed = await rights.file(person.auth, kind="access")
    for statement in ("UPDATE subject_request_event SET actor = 'someone else' "
                      "WHERE request_id = $1::uuid",
                      "DELETE FROM subject_request_event WHERE request_id = $1::uuid"):
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await rights.sql("subject-rights", statement, filed["id"])


async def test_o19_withdrawal_of_all_consent_records_a_withdrawal_for_every_purpose(rights) -> None:
    tenant = await rights.tenant()
    person = await rights.participant(tenant)
    granted = await rights.consent.put(f"/v1/subjects/{person.id}/consents/newsletter",
                                       headers=person.auth, json={"granted": True})
    assert granted.status_code == 200, granted.text
    # Filed signed in (verified, O20) it needs no decision (O11: as easy as giving).
    filed = await rights.file(person.auth, kind="consent-withdrawal")
    assert filed["status"] == "completed", filed
    withdrawn = set(filed["outcome"]["withdrawn_purposes"])
    purposes = {p["id"] for p in (await rights.consent.get(
        "/v1/purposes", params={"limit": 200})).json()["items"]}
    assert withdrawn == purposes
    state = (await rights.consent.get(f"/v1/subjects/{person.id}/consents",
                                      headers=person.auth)).json()
    assert not any(c["granted"] for c in state["consents"].values())
    history = (await rights.consent.get(f"/v1/subjects/{person.id}/consents/history",
                                        headers=person.auth, params={"limit": 200})).json()
    assert {r["purpose"] for r in history["items"] if not r["granted"]} == purposes


async def test_o15_a_retention_sweep_de_identifies_requests_handled_over_a_year_ago(rights) -> None:
    """The category scope retention sends when `subject_requests` reach their term (P1Y from
    `request_handled`): the request becomes the de-identified record while the person stays;
    a held person's request is left alone (O17)."""
    from datetime import UTC, datetime, timedelta

    from privacy_kit.protocol import ErasureScope
    from subject_rights.provider import SubjectRightsProvider

    tenant = await rights.tenant()
    old, held, recent = [await rights.participant(tenant) for _ in range(3)]
    cases = {}
    for person in (old, held, recent):
        cases[person.id] = await rights.file(person.auth, kind="consent-withdrawal",
                                             details=f"Stop everything, {person.email}")
        assert cases[person.id]["status"] == "completed"
    for person in (old, held):
        await rights.sql("subject-rights", "UPDATE subject_request SET closed_at = now() - "
                         "interval '2 years' WHERE id = $1::uuid", cases[person.id]["id"])
    provider = SubjectRightsProvider()
    scope = ErasureScope(kind="category", category="subject_requests",
                         older_than=datetime.now(UTC) - timedelta(days=365),
                         clock="request_handled", action="anonymise",
                         held_subject_ids=[held.id])
    async with rights.apps["subject-rights"].state.pool.acquire() as conn, conn.transaction():
        counted = await provider.count(conn, [scope])
        counts = await provider.erase(conn, scope)
    assert counts == counted and counts["subject_requests"] >= 1

    swept = await rights.case(cases[old.id]["id"], old.auth)  # still the person's, by hash
    assert swept["subject_id"] is None and swept["details"] == ""
    assert swept["status"] == "completed" and swept["closed_at"]
    assert old.id not in str(swept["history"])
    for person in (held, recent):
        kept = await rights.case(cases[person.id]["id"])
        assert kept["subject_id"] == person.id and person.email in kept["details"]
