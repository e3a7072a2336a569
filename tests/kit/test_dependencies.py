"""Every route of every service runs on the event loop: no plain `def` endpoint or dependency.

FastAPI runs a synchronous endpoint or dependency in its thread pool: a thread hand-off (two
lock round trips and a context switch) on every request that uses it. A settings dependency
written as `def` cost the consent save a hop per request (issue 10); this keeps it from
coming back in any service or the gateway.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from privacy_kit.settings import DEV_SECRET

APPS = ("consent.main", "retention.main", "breach.main", "training_records.main",
        "subject_rights.main", "gateway.main")


def _runs_on_the_loop(call: Any) -> bool:
    # A function, or an instance whose class defines __call__ (e.g. an `Ordering`).
    target = call if inspect.isroutine(call) else type(call).__call__
    return inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)


def _routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # an included router (FastAPI >= 0.160)
            yield from _routes(route.original_router.routes)
        elif hasattr(route, "routes"):
            yield from _routes(route.routes)


def _sync_dependencies(dependant: Dependant) -> Iterator[str]:
    for sub in dependant.dependencies:
        if sub.call is not None and not _runs_on_the_loop(sub.call):
            yield getattr(sub.call, "__qualname__", repr(sub.call))
        yield from _sync_dependencies(sub)


@pytest.mark.parametrize("module", APPS)
def test_no_route_takes_a_thread_pool_hop(module: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "test")
    monkeypatch.setenv("JWT_SECRET", DEV_SECRET)
    monkeypatch.setenv("KAFKA_ENABLED", "false")
    app = importlib.import_module(module).create_app()
    routes = list(_routes(app.router.routes))
    assert len(routes) > 3, "no routes found: the walk no longer matches FastAPI's router"
    hops = sorted({f"{route.path}: {name}"
                   for route in routes
                   for name in ([] if _runs_on_the_loop(route.endpoint)
                                else [route.endpoint.__qualname__])
                   + list(_sync_dependencies(route.dependant))})
    assert hops == [], "make these async def: " + "; ".join(hops)
