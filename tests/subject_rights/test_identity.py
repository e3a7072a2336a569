"""O20: a request entered on someone's behalf is carried out only after the person is
identified, by a one-time code mailed (real SMTP) to the address on file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from devstack.testing import auth
from subject_rights.deadlines import local_date

DPO = auth("dpo")


def days_ago(n: int) -> str:
    return (local_date(datetime.now(UTC)) - timedelta(days=n)).isoformat()


async def _on_behalf(rights, tenant, person, **extra):
    return await rights.file(rights.beheerder(tenant), kind="access", subject_id=person.id,
                             channel="letter", received_on=days_ago(2),
                             details="Letter asking for a copy.", **extra)


async def test_o20_an_unverified_case_cannot_be_carried_out_until_the_code_is_given(rights) -> None:
    tenant = await rights.tenant()
    person = await rights.participant(tenant)
    filed = await _on_behalf(rights, tenant, person)
    assert filed["status"] == "awaiting_verification" and not filed["verified"]
    assert filed["on_behalf"] and filed["channel"] == "letter"
    assert filed["received_at"][:10] <= days_ago(2)  # the term runs from receipt

    refused = await rights.sr.post(f"/v1/subject-requests/{filed['id']}/approval",
                                   headers=rights.beheerder(tenant), json={})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "not_verified"

    code = await rights.code_for(person.email)
    mail = rights.mailbox.to(person.email)[0].get_payload(decode=True).decode()
    assert "identity document" in mail  # we say we never ask for one
    # No sign-in needed: the code is the proof, and the answer tells nothing of the case.
    ok = await rights.sr.post(f"/v1/subject-requests/{filed['id']}/verification",
                              json={"code": code})
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == "verified" and set(ok.json()) == {
        "id", "kind", "status", "verified_at"}
    again = await rights.sr.post(f"/v1/subject-requests/{filed['id']}/verification",
                                 json={"code": code})
    assert again.status_code == 409  # one time only
    case = await rights.case(filed["id"], rights.beheerder(tenant))
    assert case["verification_method"] == "code"
    assert [h["action"] for h in case["history"]] == [
        "received", "verification_required", "code_sent", "verified"]


async def test_o20_the_code_allows_a_limited_number_of_tries(rights) -> None:
    tenant = await rights.tenant()
    person = await rights.participant(tenant)
    filed = await _on_behalf(rights, tenant, person)
    code = await rights.code_for(person.email)
    wrong = "000000" if code != "000000" else "111111"
    url = f"/v1/subject-requests/{filed['id']}/verification"
    tries = rights.settings["subject-rights"].identity_code_max_tries
    for left in range(tries - 1, -1, -1):
        r = await rights.sr.post(url, json={"code": wrong})
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "wrong_code"
        assert (f"{left} tries left" in r.json()["error"]["message"]) == (left > 0)
    spent = await rights.sr.post(url, json={"code": code})
    assert spent.status_code == 429  # even the right code is dead now

    # The person (signed in) asks for a new code; that one works.
    resent = await rights.sr.post(f"/v1/subject-requests/{filed['id']}/identity-code",
                                  headers=person.auth)
    assert resent.status_code == 202 and resent.json()["code_sent"]
    fresh = await rights.code_for(person.email, nth=2)
    assert (await rights.sr.post(url, json={"code": fresh})).status_code == 200


async def test_o20_the_code_expires(rights) -> None:
    tenant = await rights.tenant()
    person = await rights.participant(tenant)
    filed = await _on_behalf(rights, tenant, person)
    code = await rights.code_for(person.email)
    await rights.sql("subject-rights", "UPDATE identity_code SET expires_at = now() - "
                     "interval '1 second' WHERE request_id = $1::uuid", filed["id"])
    expired = await rights.sr.post(f"/v1/subject-requests/{filed['id']}/verification",
                                   json={"code": code})
    assert expired.status_code == 410
    assert expired.json()["error"]["code"] == "code_expired"
    assert (await rights.case(filed["id"]))["status"] == "awaiting_verification"


async def test_o20_signing_in_as_the_person_verifies_and_a_stranger_cannot(rights) -> None:
    tenant = await rights.tenant()
    person, stranger = await rights.participant(tenant), await rights.participant(tenant)
    filed = await _on_behalf(rights, tenant, person)
    url = f"/v1/subject-requests/{filed['id']}/verification"
    assert (await rights.sr.post(url, json={})).status_code == 401
    assert (await rights.sr.post(url, json={}, headers=stranger.auth)).status_code == 422
    signed_in = await rights.sr.post(url, json={}, headers=person.auth)
    assert signed_in.status_code == 200 and signed_in.json()["status"] == "verified"


async def test_o20_on_behalf_entries_name_channel_and_a_receipt_date_within_four_weeks(rights) -> None:
    tenant = await rights.tenant()
    person = await rights.participant(tenant)
    beheerder = rights.beheerder(tenant)
    base = {"kind": "erasure", "subject_id": person.id}
    for body, code in (
        ({**base, "received_on": days_ago(1)}, "invalid_request"),  # no channel
        ({**base, "channel": "email"}, "invalid_request"),  # no receipt date
        ({**base, "channel": "email", "received_on": days_ago(-1)}, "invalid_received_on"),
        ({**base, "channel": "email", "received_on": days_ago(29)}, "invalid_received_on"),
    ):
        r = await rights.sr.post("/v1/subject-requests", headers=beheerder, json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"]["code"] == code
    four_weeks = await rights.file(beheerder, **base, channel="email", received_on=days_ago(28))
    assert four_weeks["due_date"] == local_date(datetime.now(UTC)).isoformat()
    # A participant cannot file about someone else.
    other = await rights.sr.post("/v1/subject-requests", headers=person.auth, json={
        "kind": "access", "subject_id": str(four_weeks["id"])})
    assert other.status_code == 403
