"""The internal lookup the breach register uses (O27, O28): tenants of subjects, for services only."""

from __future__ import annotations

import uuid

from devstack.testing import auth, service_auth


async def test_o27_tenants_of_subjects_are_answered_to_services_only(tr) -> None:
    north, south = await tr.tenant(), await tr.tenant()
    a, b = await tr.participant(north), await tr.participant(north)
    c = await tr.participant(south)
    stranger = str(uuid.uuid4())
    body = {"subject_ids": [a, b, c, stranger, "not-a-uuid"], "tenant_ids": [south, stranger]}
    r = await tr.client.post("/internal/subjects/tenants", json=body, headers=service_auth("breach"))
    assert r.status_code == 200, r.text
    answer = r.json()
    assert {t: sorted(ids) for t, ids in answer["subjects_by_tenant"].items()} == {
        north: sorted([a, b]), south: [c]}
    assert sorted(answer["unknown_subjects"]) == sorted([stranger, "not-a-uuid"])
    assert answer["participants_of"] == {south: 1}
    assert answer["unknown_tenants"] == [stranger]
    assert "email_of" not in answer
    assert await tr.fetchval("SELECT count(*) FROM access_log WHERE subject_id = $1::uuid::text", c) == 0

    for who in (auth("dpo"), auth("beheerder", tenant=north)):
        r = await tr.client.post("/internal/subjects/tenants", json=body, headers=who)
        assert r.status_code == 403


async def test_o28_addresses_for_a_people_notice_are_given_and_logged(tr) -> None:
    tenant = await tr.tenant()
    person = await tr.participant(tenant, email="told@example.org")
    r = await tr.client.post("/internal/subjects/tenants", headers=service_auth("breach"),
                             json={"subject_ids": [person], "contacts": True})
    assert r.json()["email_of"] == {person: "told@example.org"}
    what = await tr.fetchval(
        "SELECT what FROM access_log WHERE subject_id = $1::uuid::text AND actor_sub = 'breach'", person)
    assert "breach notice" in what
