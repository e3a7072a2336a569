"""CSV import by a Beheerder: all or nothing, bad rows reported by line number (O5, O6)."""

from __future__ import annotations

import uuid

from devstack.testing import auth
from privacy_kit.guards import AMSTERDAM

CSV = {"Content-Type": "text/csv"}


def _rows(n: int, start: int = 0) -> list[str]:
    return [f"Deelnemer {i},d{i}.{uuid.uuid4().hex[:6]}@example.org,1990-01-{1 + i % 28:02d},"
            f"Acme B.V." for i in range(start, start + n)]


async def _count(tr, tid: str) -> int:
    return int(await tr.fetchval("SELECT count(*) FROM person WHERE tenant_id = $1",
                                 uuid.UUID(tid)))


async def test_o5_o6_csv_import_reports_every_bad_row_by_line_and_stores_nothing(tr):
    tid = await tr.tenant()
    url = f"/v1/tenants/{tid}/participants/import"
    rows = _rows(2000)
    rows[4] = "Piet,not-an-email,1990-01-01,Acme"  # line 6
    rows[99] = f"Kind,kind@example.org,{tr.years_ago(12)},Acme"  # line 101
    rows[500] = "Klaas,klaas@example.org,1990-01-01,BSN 111222333"  # line 502
    rows[1500] = rows[1499].replace("Deelnemer", "Dubbel")  # line 1502, same e-mail as 1501
    rows[1800] = "Zonder,zonder@example.org,,Acme"  # line 1802
    rows[1900] = "Teveel,teveel@example.org,1990-01-01,Acme,extra"  # line 1902
    body = "name,email,birth_date,company\n" + "\n".join(rows) + "\n"
    r = await tr.client.post(url, headers={**tr.beheerder(tid), **CSV}, content=body)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "invalid_csv" and "nothing was stored" in error["message"]
    report = [(d["line"], d["field"]) for d in error["details"]]
    assert report == [(6, "email"), (101, "birth_date"), (502, "company"), (1502, "email"),
                      (1802, "birth_date"), (1902, "row")]
    reasons = {d["line"]: d["reason"] for d in error["details"]}
    assert "under 16" in reasons[101] and "BSN" in reasons[502] and "line 1501" in reasons[1502]
    assert await _count(tr, tid) == 0


async def test_o6_csv_import_of_a_valid_file_stores_every_row_with_the_under_16s_parental_consent(
    tr,
):
    tid = await tr.tenant()
    url = f"/v1/tenants/{tid}/participants/import"
    body = ("name;email;birth_date;phone;city;language;parental_consent_method;"
            "parental_consent_verified_at\n"
            "Eva;eva@example.org;1991-02-03;+31 612345671;Utrecht;nl;;\n"
            f"Tim;tim@example.org;{tr.years_ago(14)};;;en;signed form;2026-01-01\n")
    r = await tr.client.post(url, headers={**tr.beheerder(tid), **CSV},
                             content=body.encode("utf-8-sig"))
    assert r.status_code == 201, r.text
    assert r.json()["imported"] == 2
    assert [p["line"] for p in r.json()["participants"]] == [2, 3]
    eva = r.json()["participants"][0]["id"]
    me = await tr.client.get(f"/v1/tenants/{tid}/participants/{eva}",
                             headers=tr.participant_auth(tid, eva))
    assert me.json()["address"]["city"] == "Utrecht" and me.json()["preferences"] == {
        "language": "nl"}
    assert me.json()["parental_consent"] is None
    tim = r.json()["participants"][1]["id"]
    child = (await tr.client.get(f"/v1/tenants/{tid}/participants/{tim}",
                                 headers=tr.participant_auth(tid, tim))).json()
    # O6: one record, in consent; this store keeps its id.
    assert child["parental_consent"]["recorded_in"] == "consent"
    async with tr.consent.state.pool.acquire() as conn:
        held = await conn.fetchrow("SELECT * FROM parental_consent WHERE id = $1::uuid",
                                   child["parental_consent"]["id"])
    assert held["subject_id"] == tim and held["verification_method"] == "signed form"
    assert held["verified_at"].astimezone(AMSTERDAM).date().isoformat() == "2026-01-01"
    # Importing the same people again: every row is reported as already registered.
    r = await tr.client.post(url, headers={**tr.beheerder(tid), **CSV}, content=body)
    assert [(d["line"], d["reason"]) for d in r.json()["error"]["details"]] == [
        (2, "already registered in this tenant"), (3, "already registered in this tenant")]
    assert await _count(tr, tid) == 2


async def test_csv_import_refuses_bad_files_clearly(tr):
    tid = await tr.tenant()
    url = f"/v1/tenants/{tid}/participants/import"
    boss = {**tr.beheerder(tid), **CSV}
    r = await tr.client.post(url, headers=boss, content="naam,mail\nA,b\n")
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["line"] == 1
    assert "missing column(s) name, email, birth_date" in r.json()["error"]["details"][0]["reason"]
    r = await tr.client.post(url, headers=boss, content="name,email,birth_date\n")
    assert r.status_code == 422 and "no data rows" in r.text
    r = await tr.client.post(url, headers=boss, content=b"\xff\xfename")
    assert r.status_code == 422 and "UTF-8" in r.json()["error"]["message"]
    participant = {**auth("participant", tenant=tid), **CSV}
    r = await tr.client.post(url, headers=participant, content="name,email,birth_date\n")
    assert r.status_code == 403
    # A tenant with the special-data agreement may import a BSN.
    special = await tr.tenant(special=True)
    r = await tr.client.post(f"/v1/tenants/{special}/participants/import",
                             headers={**tr.beheerder(special), **CSV},
                             content="name,email,birth_date,company\n"
                                     "Klaas,k@example.org,1990-01-01,BSN 111222333\n")
    assert r.status_code == 201
