"""Proof an auditor can check (O25): Ed25519-signed certificates, verified offline by a command."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from breach.main import create_app as create_breach
from breach.settings import Settings as BreachSettings
from devstack.testing import Suite, app_client, auth, wait_for
from retention import keys
from retention.__main__ import main as retention_cli
from retention.erasure.certificate import NotGenuine, sign, verify
from retention.main import create_app as create_retention
from retention.settings import Settings as RetentionSettings

DPO = auth("dpo")


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m retention ...` as an auditor runs it: a separate process, no network."""
    return subprocess.run([sys.executable, "-m", "retention", *args], capture_output=True,
                          text=True, timeout=60, env={**os.environ, **(env or {})})


# --- Keys and settings -------------------------------------------------------------------


def test_o25_production_refuses_the_development_signing_key() -> None:
    with pytest.raises(ValidationError, match="CERTIFICATE_SIGNING_KEY"):
        RetentionSettings(environment="production", jwt_algorithm="RS256", jwks_url="https://x",
                          jwt_issuer="https://issuer", jwt_audience="privacy-suite",
                          service_token_secret=secrets.token_urlsafe(32),
                          certificate_secret=secrets.token_urlsafe(32),
                          replay_key=base64.urlsafe_b64encode(os.urandom(32)).decode())
    own = Ed25519PrivateKey.generate()
    pem = own.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    settings = RetentionSettings(
        environment="production", jwt_algorithm="RS256", jwks_url="https://x",
        jwt_issuer="https://issuer", jwt_audience="privacy-suite",
        service_token_secret=secrets.token_urlsafe(32),
        certificate_secret=secrets.token_urlsafe(32), certificate_signing_key=pem,
        replay_key=base64.urlsafe_b64encode(os.urandom(32)).decode())
    assert keys.key_id(settings.signing_key.public_key()) == keys.key_id(own.public_key())


def test_signing_keys_are_read_as_pem_or_base64_and_a_bad_one_is_refused_at_start() -> None:
    raw = os.urandom(32)
    from_b64 = keys.load_private_key(base64.b64encode(raw).decode())
    assert from_b64.private_bytes_raw() == raw
    with pytest.raises(ValidationError, match="neither a PEM"):
        RetentionSettings(certificate_signing_key="not a key")
    public = from_b64.public_key()
    assert keys.raw_public(keys.load_public_key(keys.public_pem(public))) == keys.raw_public(public)


def test_o25_every_changed_byte_of_a_certificate_is_refused(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    cert = sign(key, {"certificate": "erasure", "job_id": str(uuid.uuid4()), "scope": "subject",
                      "subject_hash": "hmac-sha256:" + "ab" * 32, "reason_code": "subject_request",
                      "stores": {"consent": {"erased": 3, "counts": {"consent-ledger": 3}}}})
    public = tmp_path / "key.pem"
    public.write_text(keys.public_pem(key.public_key()))
    data = json.dumps(cert, indent=2).encode()
    path = tmp_path / "certificate.json"
    path.write_bytes(data)
    assert retention_cli(["verify", str(path), "--public-key", str(public)]) == 0
    for position in range(len(data)):
        changed = bytearray(data)
        changed[position] ^= 0x01
        path.write_bytes(bytes(changed))
        code = retention_cli(["verify", str(path), "--public-key", str(public)])
        assert code == 1, f"byte {position} ({chr(data[position])!r}) changed, still accepted"
    with pytest.raises(NotGenuine, match="not among the trusted keys"):
        verify(cert, [Ed25519PrivateKey.generate().public_key()])


# --- Through HTTP and the command line ----------------------------------------------------


@pytest_asyncio.fixture(scope="module")
async def retention(module_suite: Suite):
    async with contextlib.AsyncExitStack() as stack:
        clients = {}
        for name, factory, settings_cls in (
            ("retention", create_retention, RetentionSettings),
            ("breach", create_breach, BreachSettings),
        ):
            dsn = await module_suite.new_database(name)
            extra = {"expected_stores": ["retention", "breach"]} if name == "retention" else {}
            app = factory(settings_cls(**{**module_suite.env(dsn, name), **extra}))
            clients[name] = await stack.enter_async_context(app_client(app))

        async def known() -> bool:
            body = (await clients["retention"].get("/healthz")).json()
            return {"retention", "breach"} <= set(body.get("stores_known", []))

        await wait_for(known, timeout=30, what="the stores' inventories at retention")
        yield clients["retention"]


async def _completed_job(client: httpx.AsyncClient, **body: str) -> dict:
    created = await client.post("/v1/erasure-jobs", headers=DPO, json=body)
    assert created.status_code == 202, created.text

    async def completed() -> dict | None:
        job = (await client.get(f"/v1/erasure-jobs/{created.json()['id']}", headers=DPO)).json()
        return job if job["status"] == "completed" else None

    return await wait_for(completed, what="the erasure job to complete")


async def test_o25_a_certificate_verifies_offline_and_a_changed_one_fails(
    retention: httpx.AsyncClient, tmp_path: Path,
) -> None:
    job = await _completed_job(retention, scope="subject", subject_id=str(uuid.uuid4()),
                               reason_code="subject_request", reference="SR-2026-7")
    served = (await retention.get(f"/v1/erasure-jobs/{job['id']}", headers=DPO)).json()
    genuine = tmp_path / "certificate.json"
    genuine.write_text(json.dumps(served["certificate"]))

    # The public key, fetched without a token, saved, then used offline.
    answer = await retention.get("/v1/erasure-certificates/public-key")
    assert answer.status_code == 200
    key_file = tmp_path / "public-key.json"
    key_file.write_text(answer.text)
    assert served["certificate"]["key_id"] == answer.json()["key_id"]

    ok = _cli("verify", str(genuine), "--public-key", str(key_file))
    assert ok.returncode == 0, ok.stderr
    assert job["id"] in ok.stdout
    # Without --public-key: the key of this deployment's settings (the development key here).
    assert _cli("verify", str(genuine)).returncode == 0

    changed = dict(served["certificate"])
    store = next(iter(changed["stores"]))
    changed["stores"] = {**changed["stores"],
                          store: {**changed["stores"][store], "erased": changed["stores"][store]["erased"] + 1}}
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(changed))
    refused = _cli("verify", str(forged), "--public-key", str(key_file))
    assert refused.returncode == 1
    assert "NOT GENUINE" in refused.stderr

    one_byte = bytearray(genuine.read_bytes())
    at = one_byte.index(b'"completed_at": "') + len(b'"completed_at": "') + 3
    one_byte[at] = ord("1") if one_byte[at] != ord("1") else ord("2")  # another year
    forged.write_bytes(bytes(one_byte))
    assert _cli("verify", str(forged), "--public-key", str(key_file)).returncode == 1

    stranger = Ed25519PrivateKey.generate().public_key()
    other_key = base64.b64encode(keys.raw_public(stranger)).decode()
    assert _cli("verify", str(genuine), "--public-key", other_key).returncode == 1


async def test_o25_a_certificate_carries_the_reason_code_never_the_free_text(
    retention: httpx.AsyncClient,
) -> None:
    subject = str(uuid.uuid4())
    job = await _completed_job(retention, scope="subject", subject_id=subject,
                               reason="Piet de Vries belde: verwijder alles van mij")
    cert = job["certificate"]
    assert cert["reason_code"] == "other" and cert["reference"] is None
    assert "Piet" not in json.dumps(cert) and subject not in json.dumps(cert)
    assert job["reason"] is None and job["reason_code"] == "other"

    coded = await _completed_job(retention, scope="subject", subject_id=str(uuid.uuid4()),
                                 reason="under_16_without_parental_consent")
    assert coded["certificate"]["reason_code"] == "under_16_without_parental_consent"

    named = await retention.post("/v1/erasure-jobs", headers=DPO, json={
        "scope": "subject", "subject_id": subject, "reason_code": "subject_request",
        "reference": "Piet de Vries"})
    assert named.status_code == 422
    assert "reference" in named.json()["error"]["message"]
    unknown = await retention.post("/v1/erasure-jobs", headers=DPO, json={
        "scope": "subject", "subject_id": subject, "reason_code": "because"})
    assert unknown.status_code == 422
    silent = await retention.post("/v1/erasure-jobs", headers=DPO, json={
        "scope": "subject", "subject_id": subject})
    assert silent.status_code == 422
    assert "reason_code" in silent.json()["error"]["message"]
