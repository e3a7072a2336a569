"""The devstack: the fixed token command, and Stack starting and stopping real processes."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from devstack.__main__ import main as devstack_main
from devstack.stack import STORES, Stack, StackError
from privacy_kit.auth import TokenVerifier
from privacy_kit.settings import DEV_SECRET, ServiceSettings

# The gateway alone needs neither: these tests prove the launching, not the services.
NO_DATABASE = "postgresql://postgres@127.0.0.1:1/postgres"
NO_BROKER = "127.0.0.1:1"


def _token(*args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "devstack", "token", *args],
        capture_output=True, text=True, timeout=30, check=True,
        env={**{k: v for k, v in os.environ.items() if k != "JWT_SECRET"}, **(env or {})},
    )
    return result.stdout.strip()


def test_token_command_prints_a_token_the_suite_accepts() -> None:
    token = _token("--role", "beheerder", "--tenant", "tenant-a", "--sub", "person-1")
    principal = TokenVerifier(ServiceSettings(jwt_secret=DEV_SECRET)).verify(token)
    assert principal.sub == "person-1"
    assert principal.tenant == "tenant-a"
    assert principal.roles == {"beheerder"}


def test_token_command_signs_with_jwt_secret_when_set(monkeypatch, capsys) -> None:
    secret = "a-secret-of-this-very-deployment-0123456789"
    monkeypatch.setenv("JWT_SECRET", secret)
    assert devstack_main(["token", "--role", "dpo", "--role", "operator"]) == 0
    principal = TokenVerifier(ServiceSettings(jwt_secret=secret)).verify(capsys.readouterr().out.strip())
    assert principal.roles == {"dpo", "operator"} and principal.tenant is None and principal.sub


def test_token_command_refuses_an_unknown_role(capsys) -> None:
    with pytest.raises(SystemExit) as refused:
        devstack_main(["token", "--role", "admin"])
    assert refused.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


async def test_stack_starts_processes_waits_for_health_and_stops_them(tmp_path) -> None:
    stack = Stack(admin_dsn=NO_DATABASE, kafka_bootstrap=NO_BROKER, log_dir=tmp_path, services=())
    assert set(stack.urls) == {"gateway"}
    try:
        await stack.start()
        async with httpx.AsyncClient() as client:
            health = (await client.get(f"{stack.gateway_url}/healthz")).json()
        assert health["status"] == "degraded"
        assert set(health["upstreams"]) == set(STORES)
        processes = [c.process for c in stack._children]
        assert stack.running == {"gateway": True}
    finally:
        stack.stop()
    assert all(p.poll() is not None for p in processes)
    assert (tmp_path / "gateway.log").exists()


async def test_stack_reports_a_process_that_dies_and_leaves_nothing_running(
    tmp_path,
) -> None:
    stack = Stack(admin_dsn=NO_DATABASE, kafka_bootstrap=NO_BROKER, log_dir=tmp_path,
                  services=(), env={"UPSTREAM_TIMEOUT_S": "soon"})
    with pytest.raises(StackError, match="gateway exited"):
        await stack.start()
    assert stack.running == {}


def test_stack_names_a_database_per_service(tmp_path) -> None:
    stack = Stack(admin_dsn="postgresql://postgres@/postgres?host=/tmp/x",
                  kafka_bootstrap="127.0.0.1:9092", log_dir=tmp_path, database_prefix="e2e_")
    assert set(stack.database_urls) == set(STORES)
    assert stack.database_urls["training-records"] == (
        "postgresql://postgres@/e2e_training_records?host=/tmp/x")
    assert set(stack.urls) == {*STORES, "gateway"}
    assert len(set(stack.urls.values())) == 6


def test_a_throwaway_postgres_leaves_no_data_directory_behind(tmp_path) -> None:
    """Tests and benchmarks start throwaway servers: their databases go when the process ends
    (they filled /tmp with tens of gigabytes), while the devstack's own are kept."""
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from devstack.infra import start_embedded_postgres\n"
        "for name, throwaway in (('kept', False), ('gone', True)):\n"
        "    server, dsn = start_embedded_postgres(Path(sys.argv[1]) / name, throwaway=throwaway)\n"
        "    print(name, dsn, flush=True)\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True,
                            text=True, timeout=120, check=True)
    assert "kept" in result.stdout and "gone" in result.stdout, result.stderr
    assert (tmp_path / "kept" / "PG_VERSION").exists()
    assert not (tmp_path / "gone").exists()
