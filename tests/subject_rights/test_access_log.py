"""O3 across the real stores: staff reads of consents, breaches, requests, legal holds and the
internal exports are attributable (actor, role, purpose, stated reason, time) and the person's
access bundle lists them."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta

from devstack.testing import auth

REASON = "ticket 2026-5521: complaint about marketing mail"


async def test_o3_staff_reads_need_a_reason_are_logged_and_listed_in_the_access_bundle(
    rights,
) -> None:
    tenant = await rights.tenant()
    person = await rights.participant(tenant, name="Lotte Visser")
    granted = await rights.consent.put(f"/v1/subjects/{person.id}/consents/newsletter",
                                       headers=person.auth, json={"granted": True})
    assert granted.status_code == 200, granted.text
    breach = await rights.http["breach"].post("/v1/breaches", headers=auth("dpo"), json={
        "title": "Mail to the wrong list", "description": "A newsletter went to a wrong list.",
        "discovered_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "affected_subject_ids": [person.id]})
    assert breach.status_code == 201, breach.text
    hold = await rights.retention.post("/v1/legal-holds", headers=auth("dpo"), json={
        "subject_id": person.id, "ground": "legal_claims", "reference": "case 5521",
        "reason": "Complaint pending"})
    assert hold.status_code == 201, hold.text
    filed = await rights.file(person.auth, kind="objection", details="No more newsletters.")

    reads = [
        (rights.consent, f"/v1/subjects/{person.id}/consents"),
        (rights.consent, f"/v1/subjects/{person.id}/consents/history"),
        (rights.http["breach"], f"/v1/breaches/{breach.json()['id']}/subjects"),
        (rights.retention, "/v1/legal-holds"),
        (rights.sr, f"/v1/subject-requests/{filed['id']}"),
        (rights.tr, f"/v1/tenants/{tenant}/participants/{person.id}"),
    ]
    # Without a stated reason, staff are refused before anything is read.
    for client, url in reads:
        r = await client.get(url, headers=auth("dpo", sub="dpo-without-reason", reason=None))
        assert r.status_code == 400, (url, r.text)
        assert r.json()["error"]["code"] == "access_reason_required"
        assert "X-Access-Reason" in r.json()["error"]["message"]
    # With one, the read is served and recorded with it.
    dpo = auth("dpo", sub="dpo-anna", reason=REASON)
    for client, url in reads:
        r = await client.get(url, headers=dpo)
        assert r.status_code == 200, (url, r.text)

    for store in ("consent", "breach", "retention", "subject-rights", "training-records"):
        rows = await rights.sql(store, """SELECT actor_sub, actor_roles, purpose, reason, route,
                                                 read_at FROM access_log
                                          WHERE subject_id = $1 AND actor_sub = 'dpo-anna'""",
                                person.id)
        assert rows, store
        assert all(r["actor_roles"] == ["dpo"] and r["reason"] == REASON and r["purpose"]
                   and r["read_at"] for r in rows), store
        assert not await rights.sql(
            store, "SELECT 1 FROM access_log WHERE actor_sub = 'dpo-without-reason'"), store
    routes = {r["route"] for r in await rights.sql(
        "consent", "SELECT route FROM access_log WHERE subject_id = $1", person.id)}
    assert routes == {"GET /v1/subjects/{subject_id}/consents",
                      "GET /v1/subjects/{subject_id}/consents/history"}

    # The person's access bundle lists every read, with the reason staff gave.
    access = await rights.file(person.auth, kind="access")
    approved = await rights.sr.post(f"/v1/subject-requests/{access['id']}/approval",
                                    headers=rights.beheerder(tenant), json={})
    assert approved.status_code == 200, approved.text
    download = await rights.sr.get(f"/v1/subject-requests/{access['id']}/bundle",
                                   headers=person.auth)
    with zipfile.ZipFile(io.BytesIO(download.content)) as zf:
        readers = json.loads(zf.read("who_read_your_data.json"))
    by_store = {r["store"] for r in readers if r["actor"] == "dpo-anna" and r["reason"] == REASON}
    assert by_store == {"consent", "breach", "retention", "subject-rights", "training-records"}
    # Assembling the bundle read every store's export: those reads are attributable too.
    for store in ("consent", "breach", "retention"):
        [row] = await rights.sql(
            store, """SELECT actor_roles, purpose FROM access_log WHERE subject_id = $1
                      AND route = 'GET /internal/subjects/{subject_id}/export'""", person.id)
        assert row["actor_roles"] == ["service"] and "export" in row["purpose"]

    released = await rights.retention.post(f"/v1/legal-holds/{hold.json()['id']}/release",
                                           headers=auth("dpo"), json={})
    assert released.status_code == 200, released.text
