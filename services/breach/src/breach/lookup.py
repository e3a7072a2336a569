"""Which tenant each affected subject belongs to: asked of training-records, which knows.

One HTTP call per batch of subject ids (`POST /internal/subjects/tenants` with a service
token), a few batches at a time. An id training-records does not know comes back as unknown;
when training-records cannot be reached the caller keeps the ids as pending and asks again later.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

from breach.settings import Settings
from privacy_kit.auth import mint_service_token


class DirectoryUnavailable(Exception):
    """training-records did not answer; the ids stay pending."""


@dataclass
class Located:
    tenant_of: dict[str, str | None] = field(default_factory=dict)  # None: known, no tenant
    email_of: dict[str, str] = field(default_factory=dict)
    unknown_subjects: list[str] = field(default_factory=list)
    participants_of: dict[str, int] = field(default_factory=dict)
    unknown_tenants: list[str] = field(default_factory=list)

    def merge(self, other: Located) -> None:
        self.tenant_of.update(other.tenant_of)
        self.email_of.update(other.email_of)
        self.unknown_subjects.extend(other.unknown_subjects)
        self.participants_of.update(other.participants_of)
        self.unknown_tenants.extend(other.unknown_tenants)


class SubjectDirectory:
    """The client; `transport` lets a test or a benchmark pass its own httpx transport."""

    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self._client = httpx.AsyncClient(
            base_url=settings.store_urls["training-records"], transport=transport,
            timeout=settings.lookup_timeout_s,
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def locate(
        self, subject_ids: Sequence[str], tenant_ids: Sequence[str] = (), *, contacts: bool = False,
    ) -> Located:
        size = self.settings.lookup_batch_size
        batches = [list(subject_ids[i:i + size]) for i in range(0, len(subject_ids), size)] or [[]]
        gate = asyncio.Semaphore(self.settings.lookup_concurrency)
        token = mint_service_token(self.settings)

        async def one(batch: list[str], tenants: Sequence[str]) -> Located:
            async with gate:
                try:
                    response = await self._client.post(
                        "/internal/subjects/tenants",
                        json={"subject_ids": batch, "tenant_ids": list(tenants), "contacts": contacts},
                        headers={"Authorization": f"Bearer {token}"},
                    )
                except httpx.HTTPError as exc:
                    raise DirectoryUnavailable(f"training-records: {type(exc).__name__}") from exc
            if response.status_code != 200:
                raise DirectoryUnavailable(f"training-records answered {response.status_code}")
            body = response.json()
            tenant_of: dict[str, str | None] = {
                s: tenant for tenant, ids in body.get("subjects_by_tenant", {}).items() for s in ids}
            tenant_of.update(dict.fromkeys(body.get("subjects_without_tenant", [])))
            return Located(
                tenant_of=tenant_of, email_of=body.get("email_of", {}),
                unknown_subjects=body.get("unknown_subjects", []),
                participants_of=body.get("participants_of", {}),
                unknown_tenants=body.get("unknown_tenants", []),
            )

        # Tenants are asked once, with the first batch.
        parts = await asyncio.gather(*(one(b, tenant_ids if i == 0 else ()) for i, b in enumerate(batches)))
        located = Located()
        for part in parts:
            located.merge(part)
        return located
