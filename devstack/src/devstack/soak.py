"""A soak: mixed traffic at a moderate rate through the gateway, counting every answer and
watching each service's memory.

`python -m bench.soak --minutes 10` starts its own suite (embedded PostgreSQL, a durable Tansu)
and prints a JSON report; it exits non-zero on any error or when a service's memory grows by
more than 10% after warm-up. The tests run the same traffic for 30 s (tests/reliability).
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from privacy_kit.auth import mint_token
from privacy_kit.settings import DEV_SECRET


def _auth(role: str, tenant: str | None = None, sub: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(DEV_SECRET, role=role, tenant=tenant, sub=sub)}"}


def _once() -> dict[str, str]:
    """A POST is sent with an Idempotency-Key, as a careful client does: repeating it is safe."""
    return {"Idempotency-Key": str(uuid.uuid4())}


@dataclass
class SoakReport:
    seconds: float = 0.0
    requests: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    memory_kb: dict[str, list[int]] = field(default_factory=dict)

    def growth(self, warmup: float = 0.2) -> dict[str, float]:
        """Memory at the end against memory after warm-up, per service, as a fraction."""
        result = {}
        for name, samples in self.memory_kb.items():
            if len(samples) < 3:
                continue
            start = samples[max(1, int(len(samples) * warmup))]
            result[name] = round((samples[-1] - start) / start, 3)
        return result

    def error_kinds(self) -> dict[str, int]:
        """How many errors of each kind (action and status), so a rare one is not hidden."""
        kinds: dict[str, int] = {}
        for error in self.errors:
            kind = " ".join(error.split()[:2])
            kinds[kind] = kinds.get(kind, 0) + 1
        return kinds

    def as_dict(self) -> dict[str, Any]:
        return {"seconds": round(self.seconds, 1), "requests": self.requests,
                "rate_per_s": round(self.requests / self.seconds, 1) if self.seconds else 0,
                "statuses": self.statuses, "errors": len(self.errors),
                "first_errors": self.errors[:5], "error_kinds": self.error_kinds(), "memory_growth": self.growth(),
                "memory_kb_end": {n: s[-1] for n, s in self.memory_kb.items() if s}}


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def soak(gateway_url: str, *, seconds: float, rate_per_s: float = 20.0,
               pids: dict[str, int] | None = None) -> SoakReport:
    """Send `rate_per_s` requests a second for `seconds`: consents, reads, new participants,
    subject requests and an erasure job now and then. Every answer must be the expected 2xx."""
    report = SoakReport()
    operator, dpo = _auth("operator"), _auth("dpo")
    # Idle connections are dropped well before the gateway's keep-alive timeout (uvicorn: 5 s),
    # as any client should, so no request goes out on a connection the gateway is closing.
    limits = httpx.Limits(max_keepalive_connections=20, keepalive_expiry=2.0)
    async with httpx.AsyncClient(base_url=gateway_url, timeout=30, limits=limits) as gw:
        tenant = (await gw.post("/v1/tenants", headers=operator,
                                json={"name": f"Soak {uuid.uuid4().hex[:6]}"})).json()["id"]
        beheerder = _auth("beheerder", tenant=tenant)
        people: list[str] = []

        async def new_participant() -> httpx.Response:
            r = await gw.post(f"/v1/tenants/{tenant}/participants",
                              headers={**beheerder, **_once()}, json={
                "name": "Soak Deelnemer", "email": f"{uuid.uuid4().hex[:8]}@example.org",
                "birth_date": "1990-05-01"})
            if r.status_code == 201:
                people.append(r.json()["id"])
            return r

        for _ in range(5):
            await new_participant()

        def someone() -> str:
            return people[int(time.monotonic() * 1000) % len(people)]

        async def consent() -> httpx.Response:
            subject = someone()
            return await gw.put(f"/v1/subjects/{subject}/consents/newsletter",
                                headers=_auth("participant", tenant=tenant, sub=subject),
                                json={"granted": int(time.monotonic()) % 2 == 0})

        async def read_consents() -> httpx.Response:
            subject = someone()
            return await gw.get(f"/v1/subjects/{subject}/consents",
                                headers=_auth("participant", tenant=tenant, sub=subject))

        async def read_participant() -> httpx.Response:
            return await gw.get(f"/v1/tenants/{tenant}/participants/{someone()}",
                                headers=beheerder)

        async def purposes() -> httpx.Response:
            return await gw.get("/v1/purposes")

        async def subject_request() -> httpx.Response:
            subject = someone()
            return await gw.post("/v1/subject-requests",
                                 headers={**_auth("participant", tenant=tenant, sub=subject),
                                          **_once()},
                                 json={"kind": "access", "details": "Welke gegevens?"})

        async def erasure() -> httpx.Response:
            # A subject of its own: the others keep being used.
            return await gw.post("/v1/erasure-jobs", headers={**dpo, **_once()}, json={
                "scope": "subject", "subject_id": f"soak-{uuid.uuid4().hex[:10]}",
                "reason": "soak"})

        # The public purposes list twice in 51: at 20 requests a second about 47 a minute, under
        # the gateway's per-address limit for public routes (120), which one soak address would
        # otherwise exhaust (it is meant for many visitors, each few requests).
        mix = ([consent, read_consents, read_participant, read_consents, consent, read_consents,
                new_participant, subject_request, read_participant, read_participant] * 5
               + [erasure])
        mix[3] = mix[28] = purposes
        actions = itertools.cycle(mix)
        in_flight: set[asyncio.Task[None]] = set()

        async def run(action: Any) -> None:
            try:
                answer = await action()
                status = str(answer.status_code)
                if answer.status_code >= 300:
                    report.errors.append(f"{action.__name__}: {status} {answer.text[:200]}")
            except httpx.HTTPError as exc:
                status = type(exc).__name__
                report.errors.append(f"{action.__name__}: {status} {exc!r}"[:300])
            report.statuses[status] = report.statuses.get(status, 0) + 1
            report.requests += 1

        started = time.monotonic()
        next_sample = started
        interval = 1.0 / rate_per_s
        tick = started
        while time.monotonic() - started < seconds:
            if pids and time.monotonic() >= next_sample:
                for name, pid in pids.items():
                    report.memory_kb.setdefault(name, []).append(rss_kb(pid))
                next_sample += max(1.0, seconds / 60)
            task = asyncio.create_task(run(next(actions)))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
            tick += interval
            await asyncio.sleep(max(0.0, tick - time.monotonic()))
        if in_flight:
            await asyncio.wait(in_flight, timeout=30)
        if pids:
            for name, pid in pids.items():
                report.memory_kb.setdefault(name, []).append(rss_kb(pid))
        report.seconds = time.monotonic() - started
    return report
