"""docs/walkthrough.md, run as written against a fresh suite of real processes: every command
on the page works, and none gets a 5xx."""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from devstack.stack import Stack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
WALKTHROUGH = ROOT / "docs" / "walkthrough.md"
# Every curl also reports its status on stderr, so a 5xx anywhere fails the test.
PREAMBLE = """set -u
curl() { command curl -w '%{stderr}HTTP %{http_code}\\n' "$@"; }
"""


@pytest_asyncio.fixture(scope="module")
async def stack(postgres_admin_dsn: str, kafka_bootstrap: str,
                tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    running = Stack(
        admin_dsn=postgres_admin_dsn, kafka_bootstrap=kafka_bootstrap,
        topic_prefix=f"walk{uuid.uuid4().hex[:6]}.",
        database_prefix=f"walk_{uuid.uuid4().hex[:6]}_",
        log_dir=tmp_path_factory.mktemp("walkthrough-logs"),
    )
    try:
        await running.start()
        yield running
    finally:
        running.stop()


def _script() -> str:
    blocks = re.findall(r"```sh\n(.*?)```", WALKTHROUGH.read_text(), re.S)
    assert len(blocks) >= 8
    return PREAMBLE + "\n".join(blocks)


def _run(stack: Stack, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "JWT_SECRET"}
    return subprocess.run(
        ["bash", "-c", _script()], cwd=cwd, env={**env, "API": stack.gateway_url},
        capture_output=True, text=True, timeout=300,
    )


async def test_the_walkthrough_works_as_written(stack: Stack, tmp_path: Path) -> None:
    # The page runs from the repository root; here from a folder that looks like it, so the
    # PDF it downloads lands in the test's own folder.
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    for attempt in ("first",):  # ("first", "again") proves a second run works too; ~25 s each
        run = _run(stack, tmp_path)
        assert run.returncode == 0, f"{attempt}: {run.stderr[-3000:]}"
        statuses = re.findall(r"HTTP (\d{3})", run.stderr)
        assert len(statuses) > 30, attempt
        assert not [s for s in statuses if s.startswith("5")], run.stderr[-3000:]
        out = run.stdout
        first, retry = re.search(r"first (\S+), retry (\S+)", out).groups()  # type: ignore[union-attr]
        assert first == retry
        for expected in ("precondition_failed", "unknown_query_parameter", "unknown_cookie_id",
                         "Nieuwsbrief en marketing-e-mail", "burgerservicenummer (BSN)",
                         "Klantorganisatie", ": completed", "holder_erased"):
            assert expected in out, f"{attempt}: {expected!r} missing from\n{out[-3000:]}"
    assert (tmp_path / "sanne-certificaat.pdf").read_bytes().startswith(b"%PDF")
