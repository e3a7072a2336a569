"""O29: security measures documented and referenced from the register; a record of audits per
client (date, auditor, findings, follow-up) that the client's Beheerders read, at most one
regular audit a year (processor agreement §10.1)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest_asyncio

from devstack.testing import Suite, app_client, auth
from privacy_kit.protocol import ErasureScope
from retention.main import create_app
from retention.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DPO = auth("dpo")
AUDIT = {"audited_on": "2026-03-02", "auditor": "Veilig & Zeker Audits B.V.",
         "scope": "Processor agreement §6", "findings": "Restores of backups are not tested.",
         "follow_up": "A monthly restore test, the first by 2026-04-01."}


@pytest_asyncio.fixture(loop_scope="session")
async def retention(suite: Suite) -> AsyncIterator[tuple[httpx.AsyncClient, object]]:
    dsn = await suite.new_database("retention")
    app = create_app(Settings(**suite.env(dsn, "retention"), kafka_enabled=False,
                              expected_stores=["retention"]))
    async with app_client(app) as client:
        yield client, app


async def test_o29_audits_per_client_one_regular_a_year_read_by_that_clients_beheerder(
    retention,
) -> None:
    client, app = retention
    tenant, other = str(uuid.uuid4()), str(uuid.uuid4())
    path = f"/v1/tenants/{tenant}/audits"
    beheerder = auth("beheerder", tenant=tenant)
    assert (await client.post(path, json=AUDIT, headers=beheerder)).status_code == 403
    first = await client.post(path, json=AUDIT, headers=DPO)
    assert first.status_code == 201, first.text
    audit = first.json()
    assert {k: audit[k] for k in AUDIT} == AUDIT
    assert audit["prompted_by"] == "regular" and audit["recorded_by"]

    # A second regular audit within twelve months is refused, before and after the first.
    for day in ("2027-03-01", "2025-03-03"):
        refused = await client.post(path, json={**AUDIT, "audited_on": day}, headers=DPO)
        assert refused.status_code == 409, refused.text
        error = refused.json()["error"]
        assert error["code"] == "audit_limit_reached"
        assert "2026-03-02" in error["message"] and "2027-03-02" in error["message"]
    assert (await client.post(path, json={**AUDIT, "audited_on": "2027-03-02"},
                              headers=DPO)).status_code == 201
    # An audit prompted by a breach or an authority's order may come on top, saying which.
    unnamed = await client.post(path, json={**AUDIT, "audited_on": "2026-06-01",
                                            "prompted_by": "breach"}, headers=DPO)
    assert unnamed.status_code == 422
    extra = await client.post(path, headers=DPO, json={
        **AUDIT, "audited_on": "2026-06-01", "prompted_by": "breach",
        "prompt_reference": "breach 7f3c"})
    assert extra.status_code == 201, extra.text

    # Follow-up recorded later.
    done = await client.patch(f"{path}/{audit['id']}", headers=DPO, json={
        "follow_up": "Restore tested on 2026-03-28.", "follow_up_done_on": "2026-03-28"})
    assert done.status_code == 200 and done.json()["follow_up_done_on"] == "2026-03-28"
    assert done.json()["findings"] == AUDIT["findings"] and done.json()["updated_by"]
    assert (await client.patch(f"{path}/{audit['id']}", headers=beheerder,
                               json={"findings": "none"})).status_code == 403

    listed = await client.get(path, headers=beheerder)
    assert listed.status_code == 200, listed.text
    assert [a["audited_on"] for a in listed.json()["items"]] == [
        "2027-03-02", "2026-06-01", "2026-03-02"]
    page = (await client.get(f"{path}?limit=2", headers=beheerder)).json()
    rest = (await client.get(f"{path}?limit=2&cursor={page['next_cursor']}",
                             headers=beheerder)).json()
    assert len(page["items"]) == 2 and [a["id"] for a in rest["items"]] == [audit["id"]]
    assert (await client.get(f"{path}/{audit['id']}", headers=beheerder)).status_code == 200
    other_beheerder = auth("beheerder", tenant=other)
    assert (await client.get(path, headers=other_beheerder)).status_code == 403
    assert (await client.get(f"/v1/tenants/{other}/audits", headers=DPO)).json()["items"] == []
    assert (await client.get(f"/v1/tenants/{other}/audits/{audit['id']}",
                             headers=DPO)).status_code == 404

    # Erased with the client organisation.
    async with app.state.pool.acquire() as conn, conn.transaction():
        counts = await app.state.provider.erase(conn, ErasureScope(kind="tenant",
                                                                   tenant_id=tenant))
    assert counts["client_audits"] == 3


async def test_o29_the_register_refers_to_the_documented_security_measures(retention) -> None:
    client, _app = retention
    register = (await client.get("/v1/processing-register", headers=DPO)).json()
    document = ROOT / register["security_measures_document"]
    text = document.read_text()
    for heading in ("Access control", "Encryption in transit", "Encryption at rest", "Logging",
                    "Backups", "Incident handling", "Audits"):
        assert f"## {heading}" in text, heading
