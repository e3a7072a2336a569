"""O18 end to end, through the gateway, every service a real process: a client's contract ends;
its Beheerders take their data out, the tenant stops growing, and after the grace period it is
erased in every store, with a signed certificate on the termination record."""

from __future__ import annotations

import csv
import io
import json
import uuid
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
import pytest_asyncio

from devstack.stack import STORES, Stack
from devstack.testing import auth, wait_for
from retention.erasure.certificate import verify
from retention.keys import load_public_key

pytestmark = pytest.mark.e2e

OPERATOR, DPO = auth("operator"), auth("dpo")
GRACE_S = 20  # long enough to see the refusals before the erasure, on a busy machine


@pytest_asyncio.fixture(scope="module")
async def gateway(postgres_admin_dsn: str, kafka_bootstrap: str,
                  tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Stack, httpx.AsyncClient]]:
    stack = Stack(
        admin_dsn=postgres_admin_dsn, kafka_bootstrap=kafka_bootstrap,
        topic_prefix=f"o18{uuid.uuid4().hex[:6]}.", database_prefix=f"o18_{uuid.uuid4().hex[:6]}_",
        env={"TERMINATION_GRACE_S": str(GRACE_S), "TERMINATION_SWEEP_INTERVAL_S": "0.3",
             "OTEL_SDK_DISABLED": "true"},
        log_dir=tmp_path_factory.mktemp("o18-logs"),
    )
    try:
        await stack.start()
        async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as gw:
            yield stack, gw
    finally:
        stack.stop()


class Tenant:
    """A client organisation with one participant who has data in every store."""

    def __init__(self, tenant_id: str, participant: str, name: str, email: str) -> None:
        self.id, self.participant, self.name, self.email = tenant_id, participant, name, email
        self.beheerder = auth("beheerder", tenant=tenant_id, sub=f"beheerder-{tenant_id[:8]}")


async def _tenant(gw: httpx.AsyncClient, label: str) -> Tenant:
    made = await gw.post("/v1/tenants", json={"name": f"{label} Opleidingen BV"}, headers=OPERATOR)
    assert made.status_code == 201, made.text
    tenant_id = made.json()["id"]
    name, email = f"{label} Deelnemer", f"{label.lower()}.deelnemer@example.nl"
    person = await gw.post(f"/v1/tenants/{tenant_id}/participants",
                           headers=auth("beheerder", tenant=tenant_id),
                           json={"name": name, "email": email, "birth_date": "1991-05-06"})
    assert person.status_code == 201, person.text
    subject = person.json()["id"]
    participant = auth("participant", tenant=tenant_id, sub=subject)
    for call in (
        gw.put(f"/v1/subjects/{subject}/consents/newsletter", json={"granted": True},
               headers=participant),
        gw.post("/v1/subject-requests", headers=participant,
                json={"kind": "access", "details": "Wat weten jullie van mij?"}),
        gw.post("/v1/breaches", headers=DPO, json={
            "title": f"Export of {label} sent astray",
            "description": "A file went to the wrong client.",
            "discovered_at": "2026-11-20T10:00:00Z", "affected_subject_ids": [subject]}),
    ):
        answer = await call
        assert answer.status_code in (200, 201), answer.text
    return Tenant(tenant_id, subject, name, email)


async def _terminate(gw: httpx.AsyncClient, tenant: Tenant, end_date: str,
                     headers: dict[str, str]) -> dict:
    answer = await gw.post("/v1/contract-terminations", headers=headers,
                           json={"tenant_id": tenant.id, "end_date": end_date,
                                 "reference": "CONTRACT-2024-017"})
    assert answer.status_code == 201, answer.text
    return answer.json()


async def _rows_naming(dsn: str, needle: str) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        tables = await conn.fetch(
            "SELECT quote_ident(table_name) AS t FROM information_schema.tables"
            " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'")
        found = {}
        for row in tables:
            count = await conn.fetchval(
                f"SELECT count(*) FROM {row['t']} AS r WHERE r::text LIKE '%' || $1 || '%'", needle)
            if count:
                found[row["t"]] = count
        return found
    finally:
        await conn.close()


async def test_o18_a_tenants_export_holds_its_data_from_every_store_and_nothing_of_another(
    gateway: tuple[Stack, httpx.AsyncClient],
) -> None:
    _, gw = gateway
    ours, theirs = await _tenant(gw, "Alfa"), await _tenant(gw, "Beta")
    end = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    termination = await _terminate(gw, ours, end, ours.beheerder)
    assert termination["status"] == "scheduled"
    where = f"/v1/contract-terminations/{termination['id']}"
    assert (await gw.get(where, headers=theirs.beheerder)).status_code == 403

    asked = await gw.post(f"{where}/exports", headers=ours.beheerder)
    assert asked.status_code == 202, asked.text
    export = f"{where}/exports/{asked.json()['id']}"

    async def ready() -> dict | None:
        body = (await gw.get(export, headers=ours.beheerder)).json()
        assert body["status"] != "failed", body
        return body if body["status"] == "ready" else None

    state = await wait_for(ready, timeout=60, what="the tenant export")
    for outsider in (DPO, OPERATOR, theirs.beheerder):
        assert (await gw.get(f"{export}/download", headers=outsider)).status_code == 403
    download = await gw.get(f"{export}/download", headers=ours.beheerder)
    assert download.status_code == 200, download.text
    assert download.headers["content-type"] == "application/zip"
    assert download.headers["x-content-sha256"] == state["sha256"]

    archive = zipfile.ZipFile(io.BytesIO(download.content))
    manifest = json.loads(archive.read("manifest.json"))
    assert set(manifest["stores"]) == set(STORES)
    assert all(manifest["stores"][s]["records"] > 0 for s in STORES), manifest["stores"]
    assert manifest == state["manifest"]
    everything = b"".join(archive.read(n) for n in archive.namelist()).decode()
    for ours_too in (ours.participant, ours.name, ours.email):
        assert ours_too in everything
    for not_ours in (theirs.id, theirs.participant, theirs.name, theirs.email):
        assert not_ours not in everything
    for path, count in manifest["files"].items():
        text = archive.read(path).decode()
        rows = (len(list(csv.reader(io.StringIO(text)))) - 1 if path.endswith(".csv")
                else len(text.splitlines()))
        assert rows == count, path
    people = list(csv.DictReader(io.StringIO(archive.read("training-records/participant.csv").decode())))
    assert [(p["id"], p["email"]) for p in people] == [(ours.participant, ours.email)]

    logged = (await gw.get(export, headers=ours.beheerder)).json()
    assert [d["downloaded_by"] for d in logged["downloads"]] == [f"beheerder-{ours.id[:8]}"]


async def test_o18_termination_stops_the_tenant_growing_and_erases_it_after_the_grace_period(
    gateway: tuple[Stack, httpx.AsyncClient],
) -> None:
    stack, gw = gateway
    tenant = await _tenant(gw, "Gamma")
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    # A Beheerder cannot backdate; an operator records a contract that has already ended.
    refused = await gw.post("/v1/contract-terminations", headers=tenant.beheerder,
                            json={"tenant_id": tenant.id, "end_date": yesterday})
    assert refused.status_code == 422
    termination = await _terminate(gw, tenant, yesterday, OPERATOR)
    assert termination["status"] == "effective"
    where = f"/v1/contract-terminations/{termination['id']}"
    late = await gw.post(f"{where}/exports", headers=tenant.beheerder)
    assert late.status_code == 409 and late.json()["error"]["code"] == "contract_ended"

    async def no_more_participants() -> bool:
        answer = await gw.post(f"/v1/tenants/{tenant.id}/participants", headers=tenant.beheerder,
                               json={"name": "Nieuw", "birth_date": "1990-01-01",
                                     "email": f"nieuw-{uuid.uuid4().hex[:8]}@example.nl"})
        assert answer.status_code in (201, 409), answer.text
        return answer.status_code == 409 and answer.json()["error"]["code"] == "contract_terminated"

    await wait_for(no_more_participants, timeout=30, what="training-records to refuse new people")
    login = await gw.post(f"/v1/tenants/{tenant.id}/participants/{tenant.participant}/logins",
                          headers=auth("participant", tenant=tenant.id, sub=tenant.participant))
    assert login.status_code == 409 and "contract has ended" in login.json()["error"]["message"]

    async def erased() -> dict | None:
        body = (await gw.get(where, headers=tenant.beheerder)).json()
        return body if body["status"] == "erased" else None

    done = await wait_for(erased, timeout=60, what="the tenant's erasure after the grace period")
    assert done["erasure_job_id"]
    assert datetime.fromisoformat(done["erase_after"]) <= datetime.now(UTC)
    certificate = done["certificate"]
    assert (certificate["scope"], certificate["tenant_id"]) == ("tenant", tenant.id)
    assert certificate["reason_code"] == "contract_terminated"
    assert certificate["reference"] == f"termination/{termination['id']}"
    assert set(certificate["stores"]) == set(STORES)
    key = (await gw.get("/v1/erasure-certificates/public-key")).json()["public_key_pem"]
    verify(certificate, [load_public_key(key)])
    for store in STORES:
        assert await _rows_naming(stack.database_urls[store], tenant.participant) == {}, store
        assert await _rows_naming(stack.database_urls[store], tenant.email) == {}, store


async def test_o18_o17_a_legal_hold_on_the_tenant_stops_its_erasure_visibly(
    gateway: tuple[Stack, httpx.AsyncClient],
) -> None:
    _, gw = gateway
    tenant = await _tenant(gw, "Delta")
    hold = await gw.post("/v1/legal-holds", headers=DPO,
                         json={"tenant_id": tenant.id, "reason": "Claim 2026-311"})
    assert hold.status_code == 201, hold.text
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    termination = await _terminate(gw, tenant, yesterday, OPERATOR)
    where = f"/v1/contract-terminations/{termination['id']}"

    async def held() -> dict | None:
        body = (await gw.get(where, headers=DPO)).json()
        return body if body["status"] == "held" else None

    shown = await wait_for(held, timeout=30, what="the termination to show the hold")
    assert [h["id"] for h in shown["holds"]] == [hold.json()["id"]]
    assert shown["erasure_job_id"] is None and shown["held_since"]
    listed = (await gw.get(f"/v1/contract-terminations?tenant_id={tenant.id}",
                           headers=DPO)).json()["items"]
    assert [t["status"] for t in listed] == ["held"]

    released = await gw.post(f"/v1/legal-holds/{hold.json()['id']}/release", headers=DPO)
    assert released.status_code == 200

    async def erased() -> bool:
        return (await gw.get(where, headers=DPO)).json()["status"] == "erased"

    await wait_for(erased, timeout=60, what="the erasure once the hold is released")
    person = await gw.get(f"/v1/tenants/{tenant.id}/participants/{tenant.participant}",
                          headers=DPO)
    assert person.status_code == 404
