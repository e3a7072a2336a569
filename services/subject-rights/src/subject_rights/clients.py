"""Calls to the other services over HTTP, with a service token (never Kafka: personal data
must not ride on a log that cannot be erased).

One `httpx.AsyncClient` per app (opened at start-up, closed at shutdown) keeps connections
to the stores alive between requests.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from fastapi import FastAPI, Request

from privacy_kit.auth import mint_service_token
from privacy_kit.errors import ApiError
from subject_rights.i18n import tr
from subject_rights.settings import Settings


async def open_client(app: FastAPI) -> None:
    app.state.http = httpx.AsyncClient(
        limits=httpx.Limits(max_connections=50, max_keepalive_connections=20))


async def close_client(app: FastAPI) -> None:
    await app.state.http.aclose()


def http_of(request: Request) -> httpx.AsyncClient:
    client: httpx.AsyncClient = request.app.state.http
    return client


class Unavailable(Exception):
    """A service did not answer as it should; `what` names it for the person."""

    def __init__(self, what: str, reason: str) -> None:
        super().__init__(f"{what}: {reason}")
        self.what = what
        self.reason = reason

    def api_error(self) -> ApiError:
        return ApiError(503, "service_unavailable",
                        tr("{what} cannot be reached right now ({reason}); try again shortly.",
                           what=self.what, reason=self.reason), headers={"Retry-After": "5"})


@dataclass(frozen=True)
class Person:
    """What training-records knows of a subject: ids, and the e-mail on file when asked."""

    subject_id: str
    kind: str
    tenant_id: str | None
    email: str | None = None


def _auth(settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_service_token(settings)}"}


def _reason(exc: Exception) -> str:
    return type(exc).__name__ if not str(exc) else f"{type(exc).__name__}: {exc}"


async def _call(
    client: httpx.AsyncClient, settings: Settings, what: str, method: str, url: str, *,
    json: Any = None, headers: dict[str, str] | None = None,
) -> httpx.Response:
    try:
        return await client.request(method, url, json=json, headers=headers or _auth(settings),
                                    timeout=settings.export_timeout_s)
    except httpx.HTTPError as exc:
        raise Unavailable(what, _reason(exc)) from exc


async def person(
    client: httpx.AsyncClient, settings: Settings, subject_id: str, *, with_email: bool = False
) -> Person | None:
    """The subject as training-records knows them, or None when it does not (the platform's
    own users: visitors, marketing contacts, direct customers)."""
    path = "contact" if with_email else "tenant"
    answer = await _call(client, settings, "training-records", "GET",
                         f"{settings.training_records_url}/internal/subjects/{subject_id}/{path}")
    if answer.status_code == 404:
        return None
    if answer.status_code != 200:
        raise Unavailable("training-records", f"HTTP {answer.status_code}")
    body = answer.json()
    tenant = body.get("tenant_id")
    return Person(subject_id=str(body["subject_id"]), kind=str(body["kind"]),
                  tenant_id=str(tenant) if tenant else None, email=body.get("email"))


@dataclass
class StoreExport:
    store: str
    data: dict[str, Any] | None
    error: str | None
    seconds: float


async def _export_one(
    client: httpx.AsyncClient, settings: Settings, store: str, base: str, subject_id: str
) -> StoreExport:
    started = time.perf_counter()
    try:
        answer = await client.get(f"{base}/internal/subjects/{subject_id}/export",
                                  headers=_auth(settings), timeout=settings.export_timeout_s)
        if answer.status_code != 200:
            return StoreExport(store, None, f"HTTP {answer.status_code}",
                               time.perf_counter() - started)
        body = orjson.loads(answer.content)
        return StoreExport(store, body.get("data") or {}, None, time.perf_counter() - started)
    except (httpx.HTTPError, ValueError) as exc:
        return StoreExport(store, None, _reason(exc), time.perf_counter() - started)


async def exports(
    client: httpx.AsyncClient, settings: Settings, subject_id: str
) -> dict[str, StoreExport]:
    """Every store's export of the subject, all asked at once, each with its own timeout."""
    results = await asyncio.gather(*(
        _export_one(client, settings, store, base, subject_id)
        for store, base in settings.store_urls.items()
    ))
    return {r.store: r for r in results}


async def processing_register(
    client: httpx.AsyncClient, settings: Settings
) -> tuple[dict[str, Any] | None, str | None]:
    """Retention's record of processing activities, or why it could not be had."""
    try:
        answer = await client.get(f"{settings.retention_url}/internal/processing-register",
                                  headers=_auth(settings), timeout=settings.export_timeout_s)
    except httpx.HTTPError as exc:
        return None, _reason(exc)
    if answer.status_code != 200:
        return None, f"HTTP {answer.status_code}"
    return answer.json(), None


@dataclass(frozen=True)
class JobAnswer:
    job_id: uuid.UUID | None
    legal_hold: bool


async def start_erasure_job(
    client: httpx.AsyncClient, settings: Settings, subject_id: str, case_id: uuid.UUID
) -> JobAnswer:
    answer = await _call(
        client, settings, "retention", "POST", f"{settings.retention_url}/v1/erasure-jobs",
        json={"scope": "subject", "subject_id": subject_id,
              "reason": f"approved erasure request {case_id}"})
    if answer.status_code == 409 and answer.json().get("error", {}).get("code") == "legal_hold":
        return JobAnswer(None, legal_hold=True)
    if answer.status_code != 202:
        raise Unavailable("retention", f"HTTP {answer.status_code}: {answer.text[:200]}")
    return JobAnswer(uuid.UUID(answer.json()["id"]), legal_hold=False)


async def active_legal_holds(
    client: httpx.AsyncClient, settings: Settings, subject_id: str
) -> list[dict[str, Any]]:
    """The legal holds on the subject (retention's export names them with their reason)."""
    held = await _export_one(client, settings, "retention", settings.retention_url, subject_id)
    holds = (held.data or {}).get("legal_holds", [])
    return [h for h in holds if isinstance(h, dict) and not h.get("released_at")]


async def erasure_job(
    client: httpx.AsyncClient, settings: Settings, job_id: uuid.UUID
) -> dict[str, Any]:
    answer = await _call(client, settings, "retention", "GET",
                         f"{settings.retention_url}/v1/erasure-jobs/{job_id}")
    if answer.status_code != 200:
        raise Unavailable("retention", f"HTTP {answer.status_code}")
    body: dict[str, Any] = answer.json()
    return body


async def withdraw_all_consent(
    client: httpx.AsyncClient, settings: Settings, subject_id: str
) -> dict[str, Any]:
    answer = await _call(client, settings, "consent", "POST",
                         f"{settings.consent_url}/internal/subjects/{subject_id}/consents/withdrawal")
    if answer.status_code != 200:
        raise Unavailable("consent", f"HTTP {answer.status_code}")
    body: dict[str, Any] = answer.json()
    return body


async def rectify_participant(
    client: httpx.AsyncClient, settings: Settings, *, tenant_id: str, subject_id: str,
    changes: dict[str, Any], authorization: str,
) -> httpx.Response:
    """PATCH the participant at training-records with the decider's own token: the store checks
    that they may, and keeps them as the actor of the correction (O3, O24)."""
    return await _call(
        client, settings, "training-records", "PATCH",
        f"{settings.training_records_url}/v1/tenants/{tenant_id}/participants/{subject_id}",
        json=changes, headers={"Authorization": authorization})
