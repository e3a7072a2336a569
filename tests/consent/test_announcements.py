"""O14: a policy version that must be announced reaches the people it concerns through the
message outbox (addresses from training-records over HTTP), and who was told and who accepted
is on record."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest_asyncio
from fastapi import FastAPI

from consent.announcements.service import announce_pending
from consent.main import create_app
from consent.settings import Settings
from devstack.infra import free_port
from devstack.testing import Suite, app_client, auth, served, service_auth
from privacy_kit.protocol import ErasureScope
from training_records.main import create_app as create_training_records
from training_records.settings import Settings as TrainingRecordsSettings


@dataclass
class Both:
    consent: FastAPI
    client: httpx.AsyncClient
    records: FastAPI
    records_url: str


@pytest_asyncio.fixture(loop_scope="session")
async def both(suite: Suite) -> AsyncIterator[Both]:
    records = create_training_records(TrainingRecordsSettings(
        **suite.env(await suite.new_database("training_records"), "training-records"),
        kafka_enabled=False))
    async with served(records) as records_url:
        consent = create_app(Settings(
            **suite.env(await suite.new_database("consent"), "consent"), kafka_enabled=False,
            training_records_url=records_url, announcement_interval_s=0))
        async with app_client(consent) as client:
            yield Both(consent, client, records, records_url)


async def _participant(both: Both, tenant: str, email: str) -> str:
    async with httpx.AsyncClient(base_url=both.records_url) as records:
        r = await records.post(f"/v1/tenants/{tenant}/participants",
                               headers=auth("beheerder", tenant=tenant),
                               json={"name": "Fleur Jansen", "email": email,
                                     "birth_date": "1990-04-01"})
        assert r.status_code == 201, r.text
        return str(r.json()["id"])


async def _publish(both: Both, *, announce: bool) -> str:
    version = f"v-{uuid.uuid4().hex[:6]}"
    r = await both.client.post("/v1/policies", headers=auth("dpo"), json={
        "version": version, "effective_date": datetime.now(UTC).date().isoformat(),
        "changelog": "Hotjar added as a sub-processor for session recordings.",
        "url": f"https://privacy.example.org/policy/{version}", "announce": announce})
    assert r.status_code == 201, r.text
    return version


async def test_o14_an_announced_version_is_told_to_everyone_with_consents_and_acceptance_recorded(
    both: Both,
) -> None:
    async with httpx.AsyncClient(base_url=both.records_url) as records:
        r = await records.post("/v1/tenants", headers=auth("operator"), json={"name": "Acme"})
        tenant = r.json()["id"]
    email = f"fleur.{uuid.uuid4().hex[:6]}@example.org"
    person = await _participant(both, tenant, email)
    visitor = f"visitor-{uuid.uuid4().hex[:8]}"  # known to consent only
    for sub, purpose in ((person, "newsletter"), (visitor, "analytics")):
        r = await both.client.put(f"/v1/subjects/{sub}/consents/{purpose}",
                                  headers=auth("participant", sub=sub), json={"granted": True})
        assert r.status_code == 200, r.text

    quiet = await _publish(both, announce=False)
    version = await _publish(both, announce=True)
    later = await _participant(both, tenant, f"later.{uuid.uuid4().hex[:6]}@example.org")
    await both.client.put(f"/v1/subjects/{later}/consents/newsletter",
                          headers=auth("participant", sub=later), json={"granted": True})

    staff = auth("dpo")
    summary = (await both.client.get(f"/v1/policy-announcements/{version}", headers=staff)).json()
    assert summary == {"policy_version": version, "announce": True, "people": 2, "pending": 2,
                       "told": 0, "no_address": 0, "accepted": 0}
    assert (await both.client.get(f"/v1/policy-announcements/{quiet}",
                                  headers=staff)).json()["people"] == 0
    assert (await both.client.get(f"/v1/policy-announcements/{version}",
                                  headers=auth("participant", sub=person))).status_code == 403

    settings = both.consent.state.settings
    assert await announce_pending(both.consent.state.pool, settings) == 2
    assert await announce_pending(both.consent.state.pool, settings) == 0
    summary = (await both.client.get(f"/v1/policy-announcements/{version}", headers=staff)).json()
    assert (summary["told"], summary["no_address"], summary["pending"]) == (1, 1, 0)

    messages = (await both.client.get(f"/v1/messages/consent?subject_id={person}",
                                      headers=staff)).json()["items"]
    assert [(m["kind"], m["recipient"]) for m in messages] == [("policy_announcement", email)]
    assert version in messages[0]["title"] and "Hotjar" in messages[0]["body"]
    assert messages[0]["tenant_id"] == tenant
    async with both.records.state.pool.acquire() as conn:
        what = await conn.fetchval("SELECT what FROM access_log WHERE subject_id = $1::uuid::text",
                                   uuid.UUID(person))
    assert what == "e-mail address: policy announcement (O14)"

    me = auth("participant", sub=person)
    accepted = await both.client.put(f"/v1/subjects/{person}/policy-acceptances/{version}",
                                     headers=me)
    assert accepted.status_code == 200, accepted.text
    again = await both.client.put(f"/v1/subjects/{person}/policy-acceptances/{version}",
                                  headers=me)
    assert again.json()["accepted_at"] == accepted.json()["accepted_at"]
    assert accepted.json()["actor"] == {"sub": person, "role": "participant", "on_behalf": False}
    assert (await both.client.put(f"/v1/subjects/{person}/policy-acceptances/{version}",
                                  headers=auth("participant", sub=visitor))).status_code == 403
    assert (await both.client.put(f"/v1/subjects/{person}/policy-acceptances/nope",
                                  headers=me)).status_code == 404
    mine = (await both.client.get(f"/v1/subjects/{person}/policy-acceptances",
                                  headers=me)).json()
    assert [a["policy_version"] for a in mine["items"]] == [version]

    recipients = (await both.client.get(f"/v1/policy-announcements/{version}/recipients",
                                        headers=staff)).json()["items"]
    by_subject = {r["subject_id"]: r for r in recipients}
    assert by_subject[person]["status"] == "told" and by_subject[person]["accepted_at"]
    assert by_subject[person]["message_id"] == messages[0]["id"]
    assert by_subject[visitor]["status"] == "no_address" and by_subject[visitor]["told_at"] is None
    summary = (await both.client.get(f"/v1/policy-announcements/{version}", headers=staff)).json()
    assert summary["accepted"] == 1

    # Part of the person's export, and erased with them (O19, O25).
    export = (await both.client.get(f"/internal/subjects/{person}/export",
                                    headers=service_auth("subject-rights"))).json()["data"]
    assert [a["policy_version"] for a in export["policy_acceptances"]] == [version]
    assert [a["status"] for a in export["policy_announcements"]] == ["told"]
    async with both.consent.state.pool.acquire() as conn, conn.transaction():
        counts = await both.consent.state.provider.erase(
            conn, ErasureScope(kind="subject", subject_id=person))
    assert counts["policy-announcements"] == 2


async def test_o14_when_training_records_cannot_answer_the_announcement_waits(both: Both) -> None:
    sub = f"sub-{uuid.uuid4().hex[:8]}"
    await both.client.put(f"/v1/subjects/{sub}/consents/newsletter",
                          headers=auth("participant", sub=sub), json={"granted": True})
    version = await _publish(both, announce=True)
    down = both.consent.state.settings.model_copy(
        update={"training_records_url": f"http://127.0.0.1:{free_port()}",
                "contacts_timeout_s": 1.0})
    assert await announce_pending(both.consent.state.pool, down) == 0
    async with both.consent.state.pool.acquire() as conn:
        row = await conn.fetchrow("SELECT status, attempts, last_error FROM policy_announcement "
                                  "WHERE policy_version = $1 AND subject_id = $2", version, sub)
    assert row["status"] == "pending" and row["attempts"] == 1 and row["last_error"]
    assert await announce_pending(both.consent.state.pool, both.consent.state.settings) == 1
