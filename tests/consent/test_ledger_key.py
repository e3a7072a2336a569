"""O11: the keyed ledger. Chains written before the key keep verifying after the upgrade (they
are sealed once, at the first start); production refuses the development key."""

from __future__ import annotations

import secrets
import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from pydantic import ValidationError

from consent.ledger import chain
from consent.main import MIGRATIONS, create_app
from consent.settings import DEV_LEDGER_KEY, Settings
from devstack.testing import Suite, app_client, auth
from privacy_kit.db import migrate

KEY = "a-ledger-key-of-this-test-only-0123456789"


async def _legacy_chain(conn, subject_id: str, grants: list[bool]) -> list[dict]:
    """Records as the service wrote them before the ledger was keyed: unkeyed chain, no seal."""
    version = await conn.fetchval("SELECT version FROM policy_version ORDER BY seq LIMIT 1")
    prev_hash, records = chain.GENESIS, []
    for index, granted in enumerate(grants):
        record = {
            "id": uuid.uuid4(), "subject_id": subject_id, "chain_index": index,
            "purpose_id": "newsletter", "granted": granted, "policy_version": version,
            "method": "api", "actor_sub": subject_id, "actor_role": "participant",
            "on_behalf": False, "tenant_id": "t1", "parental_consent_id": None, "gpc": False,
            "recorded_at": datetime.now(UTC) - timedelta(days=30 - index), "prev_hash": prev_hash,
        }
        record["hash"] = prev_hash = chain.record_hash(record)
        await conn.execute(
            f"INSERT INTO consent_record ({', '.join(record)}) VALUES "
            f"({', '.join(f'${i}' for i in range(1, len(record) + 1))})",
            *record.values())
        records.append(record)
    return records


async def test_o11_chains_written_before_the_key_keep_verifying_after_the_upgrade(
    suite: Suite, tmp_path: Path,
) -> None:
    dsn = await suite.new_database("consent")
    # The database as it was before the keyed ledger: only the first consent migration.
    before = tmp_path / "consent" / "migrations"
    before.mkdir(parents=True)
    shutil.copy(MIGRATIONS / "0001_consent.sql", before)
    await migrate(dsn, before, namespace="consent")
    conn = await asyncpg.connect(dsn)
    try:
        genuine, tampered = f"sub-{uuid.uuid4().hex[:8]}", f"sub-{uuid.uuid4().hex[:8]}"
        await _legacy_chain(conn, genuine, [True, False, True])
        broken = await _legacy_chain(conn, tampered, [True, False])
        # Changed before the upgrade, without recomputing: the unkeyed chain already shows it.
        await conn.execute("ALTER TABLE consent_record DISABLE TRIGGER USER")
        await conn.execute("UPDATE consent_record SET granted = true WHERE id = $1", broken[1]["id"])
        await conn.execute("ALTER TABLE consent_record ENABLE TRIGGER USER")
    finally:
        await conn.close()

    settings = Settings(**suite.env(dsn, "consent"), kafka_enabled=False, ledger_key=KEY)
    app = create_app(settings)  # applies 0002 and seals at its first start
    async with app_client(app) as client:
        staff = auth("dpo")
        check = (await client.get(f"/v1/subjects/{genuine}/consents/verification",
                                  headers=staff)).json()
        assert check["valid"] is True and check["records"] == 3, check
        check = (await client.get(f"/v1/subjects/{tampered}/consents/verification",
                                  headers=staff)).json()
        assert check["valid"] is False
        assert any("altered" in p["problem"] for p in check["problems"])
        assert any("not sealed" in p["problem"] for p in check["problems"])
        # New records continue the sealed chain.
        r = await client.put(f"/v1/subjects/{genuine}/consents/newsletter",
                             json={"granted": False}, headers=auth("participant", sub=genuine))
        assert r.status_code == 200, r.text
        check = (await client.get(f"/v1/subjects/{genuine}/consents/verification",
                                  headers=staff)).json()
        assert check["valid"] is True and check["records"] == 4
        async with app.state.pool.acquire() as conn:
            run = await conn.fetchrow("SELECT records, subjects, broken FROM ledger_sealing")
            assert dict(run) == {"records": 3, "subjects": 1, "broken": 1}
            # A record slipped in later without a seal is not sealed by a restart.
            await _forge_unsealed(conn, genuine)
    async with app_client(create_app(settings)) as client:
        check = (await client.get(f"/v1/subjects/{genuine}/consents/verification",
                                  headers=auth("dpo"))).json()
        assert check["valid"] is False
        assert [p["chain_index"] for p in check["problems"]] == [4]


async def _forge_unsealed(conn, subject_id: str) -> None:
    head = await conn.fetchrow(
        "SELECT * FROM consent_record WHERE subject_id = $1 ORDER BY chain_index DESC LIMIT 1",
        subject_id)
    record = {**dict(head), "id": uuid.uuid4(), "chain_index": head["chain_index"] + 1,
              "granted": True, "recorded_at": datetime.now(UTC), "prev_hash": head["hash"]}
    record["hash"] = chain.record_hash(record)
    record["seal"] = None
    await conn.execute(
        f"INSERT INTO consent_record ({', '.join(record)}) VALUES "
        f"({', '.join(f'${i}' for i in range(1, len(record) + 1))})",
        *record.values())


def test_o11_production_refuses_the_development_ledger_key() -> None:
    production = {"environment": "production", "jwt_secret": secrets.token_urlsafe(32),
                  "service_token_secret": secrets.token_urlsafe(32),
                  "cookie_id_secret": secrets.token_urlsafe(32),
                  "jwt_issuer": "https://issuer", "jwt_audience": "privacy-suite"}
    with pytest.raises(ValidationError, match="ledger key"):
        Settings(**production)
    assert Settings(**production, ledger_key=KEY).ledger_key == KEY
    assert Settings().ledger_key == DEV_LEDGER_KEY  # development runs with the known key
