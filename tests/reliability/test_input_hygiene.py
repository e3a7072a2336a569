"""Input hygiene in the kit, for every service at once: nothing a client sends makes a 500.

The probes are the ones that answered 500 or were stored before (issue 15): NUL in any text or
path parameter, unpaired surrogates, a year 9999 deadline, huge bodies, keys and ids, and
`?limit=99999999999999999999` or a forged cursor. Each answers 413 or 422 naming the field, and stores nothing.
"""

from __future__ import annotations

import json

import httpx
import pytest
from fastapi import FastAPI

from devstack.testing import auth
from privacy_kit.paging import encode_cursor
from privacy_kit.validation import InputLimits, json_problems, text_problem

Services = dict[str, tuple[FastAPI, httpx.AsyncClient]]
OPERATOR, DPO = auth("operator"), auth("dpo")



async def _tenant(services: Services) -> str:
    r = await services["training-records"][1].post("/v1/tenants", headers=OPERATOR,
                                                    json={"name": "Hygiene BV"})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _refused(r: httpx.Response, status: int, field: str | None = None) -> None:
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert set(error) >= {"code", "message"}
    if field is not None:
        assert field in error["message"], error


def test_the_rules_themselves() -> None:
    assert text_problem("a\x00b", 100) and "NUL" in str(text_problem("a\x00b", 100))
    assert text_problem("\ud800", 100)
    assert text_problem("😀", 100) is None
    assert text_problem("9999-12-31", 100) and text_problem("0001-01-01T00:00:00Z", 100)
    assert text_problem("2026-11-21T09:30:00+01:00", 100) is None
    assert text_problem("x" * 101, 100)
    limits = InputLimits(max_keys=3, max_depth=2)
    assert json_problems({"a": {"b": {"c": 1}}}, limits)[0]["field"] == "a.b.c"
    assert json_problems({str(i): 1 for i in range(4)}, limits)[0]["message"].startswith("has 4")
    assert json_problems({"n": 2**60}, limits)[0]["field"] == "n"
    assert json_problems({"ids": [{"subject_id": "s" * 201}]}, InputLimits())[0]["field"] == \
        "ids.0.subject_id"


@pytest.mark.parametrize("field", ["name", "company", "email"])
async def test_nul_in_any_text_field_is_422_naming_it(services: Services, field: str) -> None:
    client = services["training-records"][1]
    tenant = await _tenant(services)
    body = {"name": "Jan", "email": "jan@example.org", "birth_date": "1990-01-01",
            "company": "Acme", field: "Ja\u0000n"}
    r = await client.post(f"/v1/tenants/{tenant}/participants",
                          headers=auth("beheerder", tenant=tenant), json=body)
    _refused(r, 422, field)


async def test_nul_and_surrogates_in_nested_values_and_keys(services: Services) -> None:
    client = services["training-records"][1]
    tenant = await _tenant(services)
    beheerder = auth("beheerder", tenant=tenant)
    base = '{"name": "Jan", "email": "jan2@example.org", "birth_date": "1990-01-01", '
    for preferences, field in [('{"theme": "\\u0000"}', "preferences.theme"),
                               ('{"\\u0000": "x"}', "preferences"),
                               ('{"theme": "\\ud800"}', "preferences.theme")]:
        r = await client.post(f"/v1/tenants/{tenant}/participants", headers={**beheerder,
                              "Content-Type": "application/json"},
                              content=base + f'"preferences": {preferences}}}')
        _refused(r, 422, field)
    listed = await client.get(f"/v1/tenants/{tenant}/participants", headers=beheerder)
    assert listed.json()["items"] == []


async def test_nul_in_path_parameters_of_every_service(services: Services) -> None:
    probes = [
        ("consent", "PUT", "/v1/subjects/a%00b/consents/newsletter", {"granted": True}),
        ("consent", "PUT", "/v1/subjects/s-1/consents/news%00letter", {"granted": True}),
        ("consent", "GET", "/v1/subjects/a%00b/consents", None),
        ("training-records", "GET", "/v1/certificates/x%00y/verification", None),
        ("retention", "GET", "/v1/erasure-jobs/%00", None),
        ("subject-rights", "GET", "/v1/subject-requests/%00", None),
        ("breach", "GET", "/v1/breaches/%00", None),
    ]
    for service, method, path, body in probes:
        r = await services[service][1].request(method, path, headers=OPERATOR, json=body)
        assert r.status_code == 422, (service, path, r.status_code, r.text)
        assert "NUL" in r.json()["error"]["message"], r.text


async def test_a_ten_thousand_character_subject_id_is_refused(services: Services) -> None:
    client = services["consent"][1]
    subject = "s" * 10_000
    r = await client.put(f"/v1/subjects/{subject}/consents/newsletter", headers=OPERATOR,
                         json={"granted": True})
    _refused(r, 422, "subject_id")
    r = await client.put(f"/v1/subjects/{'x' * 201}/consents/newsletter", headers=OPERATOR,
                         json={"granted": True})
    _refused(r, 422, "subject_id")


async def test_dates_outside_a_sane_range_and_overflowing_deadlines(services: Services) -> None:
    breach = services["breach"][1]
    body = {"title": "t", "facts": "f", "discovered_at": "9999-12-31T00:00:00Z"}
    _refused(await breach.post("/v1/breaches", headers=DPO, json=body), 422, "discovered_at")
    tr = services["training-records"][1]
    tenant = await _tenant(services)
    r = await tr.post(f"/v1/tenants/{tenant}/participants", headers=auth("beheerder", tenant=tenant),
                      json={"name": "Jan", "email": "j3@example.org", "birth_date": "0001-01-01"})
    _refused(r, 422, "birth_date")


async def test_body_limits_413_and_shape_limits_422(services: Services) -> None:
    client = services["training-records"][1]
    tenant = await _tenant(services)
    beheerder = {**auth("beheerder", tenant=tenant), "Content-Type": "application/json"}
    url = f"/v1/tenants/{tenant}/participants"
    person = {"name": "Jan", "email": "j4@example.org", "birth_date": "1990-01-01"}
    huge = json.dumps({**person, "preferences": {"v": "x" * (2 * 1024 * 1024)}})
    _refused(await client.post(url, headers=beheerder, content=huge), 413)

    async def chunks():  # no Content-Length: counted as it arrives
        for _ in range(20):
            yield b" " * 100_000

    _refused(await client.post(url, headers=beheerder, content=chunks()), 413)
    many_keys = json.dumps({**person, "preferences": {f"k{i}": 1 for i in range(5000)}})
    _refused(await client.post(url, headers=beheerder, content=many_keys), 422, "preferences")
    long_key = json.dumps({**person, "preferences": {"k" * 100_000: 1}})
    _refused(await client.post(url, headers=beheerder, content=long_key), 422)
    deep = json.dumps({**person, "preferences": json.loads("[" * 60 + "]" * 60)})
    _refused(await client.post(url, headers=beheerder, content=deep), 422, "preferences")
    deeper = '{"preferences": ' + "[" * 100_000 + "]" * 100_000 + "}"
    _refused(await client.post(url, headers=beheerder, content=deeper), 422)
    duplicate = '{"name": "Jan", "name": "Piet"}'
    _refused(await client.post(url, headers=beheerder, content=duplicate), 422, "name")
    big_number = json.dumps(person)[:-1] + ', "preferences": {"n": 1e999}}'
    _refused(await client.post(url, headers=beheerder, content=big_number), 422, "preferences.n")
    assert (await client.get(url, headers=beheerder)).json()["items"] == []


async def test_paging_parameters_are_bounded(services: Services) -> None:
    client = services["training-records"][1]
    tenant = await _tenant(services)
    beheerder = auth("beheerder", tenant=tenant)
    url = f"/v1/tenants/{tenant}/participants"
    r = await client.get(f"{url}?limit=99999999999999999999", headers=beheerder)
    _refused(r, 422, "limit")
    r = await client.get(f"{url}?limit=200", headers=beheerder)
    assert r.status_code == 200, r.text
    r = await services["retention"][1].get("/v1/erasure-jobs?limit=99999999999999999999",
                                           headers=DPO)
    _refused(r, 422, "limit")
    r = await client.get(f"{url}?cursor=%00", headers=beheerder)
    _refused(r, 422, "cursor")
    # A cursor we never gave out, even one that decodes, is refused, never a 500.
    for key in (["9999-99-99", "x"], [10**30, None], [{"a": 1}], []):
        r = await client.get(f"{url}?cursor={encode_cursor(key)}", headers=beheerder)
        assert r.status_code == 422, (key, r.status_code, r.text)
    r = await client.get(f"{url}?offset=99999999999999999999", headers=beheerder)
    _refused(r, 422, "offset")  # not a parameter of any list any more


async def test_a_csv_upload_may_be_larger_than_a_json_body(services: Services) -> None:
    client = services["training-records"][1]
    tenant = await _tenant(services)
    rows = "".join(f"Persoon {i};p{i}@example.org;1990-01-01\n" for i in range(26_000))
    body = "name;email;birth_date\n" + rows
    assert len(body) > 1024 * 1024
    r = await client.post(f"/v1/tenants/{tenant}/participants/import",
                          headers={**auth("beheerder", tenant=tenant), "Content-Type": "text/csv"},
                          content=body.encode())
    assert r.status_code in (200, 201), r.text[:300]


async def test_every_service_answers_nul_with_422_not_500(services: Services) -> None:
    """A NUL in every JSON string of every write route's example body: 422, never 500."""
    for name, (app, client) in services.items():
        document = app.openapi()
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                if method not in ("post", "put", "patch") or "requestBody" not in operation:
                    continue
                concrete = path.replace("{", "").replace("}", "")
                body = {"name": "\u0000", "reason": "\u0000", "details": "\u0000",
                        "subject_id": "\u0000", "title": "\u0000", "facts": "\u0000"}
                r = await client.request(method, concrete, headers=OPERATOR, json=body)
                assert r.status_code == 422, (name, method, path, r.status_code, r.text[:200])
                assert "NUL" in r.json()["error"]["message"]

