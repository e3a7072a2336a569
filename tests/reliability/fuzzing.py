"""Schemathesis, driven from an async test: cases are generated with a fixed seed and a bounded
number of examples per operation, sent with httpx (in-process or over HTTP), and checked: no 5xx,
only documented statuses, bodies and content types as documented. A failure names the check and
prints the request as a curl command, so anyone can replay it."""

from __future__ import annotations

import time
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
# A service fuzzed alone answers 503 `service_unavailable` (documented, with Retry-After) when
# the operation needs another service that the fuzzing fixture does not run: that is the right
# answer, not a server error, and the answer must still conform to the schema.
DEPENDENCY_DOWN_CHECKS = CHECKS[1:]
SEED = 15


@dataclass
class FuzzReport:
    operations: int = 0
    cases: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.cases} cases over {self.operations} operations, statuses "
                f"{dict(sorted(self.statuses.items()))}, {len(self.failures)} failures")


def generate(operation: Any, mode: GenerationMode, examples: int) -> list[Any]:
    cases: list[Any] = []

    @seed(SEED)
    @settings(max_examples=examples, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(operation.as_strategy(generation_mode=mode))
    def collect(case: Any) -> None:
        cases.append(case)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            collect()
    except Exception:  # e.g. nothing can be negated in an operation without parameters
        pass
    return cases


async def fuzz(
    document: dict[str, Any],
    send: Callable[[httpx.Request], Awaitable[httpx.Response]],
    *,
    headers: dict[str, str],
    examples: int = 10,
    budget_s: float = 60.0,
    skip: Callable[[str, str], bool] = lambda method, path: False,
) -> FuzzReport:
    """Fuzz every operation of `document`; stops generating new operations after `budget_s`."""
    schema = schemathesis.openapi.from_dict(document)
    report = FuzzReport()
    deadline = time.monotonic() + budget_s
    for result in schema.get_all_operations():
        operation = result.ok()
        if skip(operation.method.upper(), operation.path) or time.monotonic() > deadline:
            continue
        report.operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for case in generate(operation, mode, examples):
                report.cases += 1
                request = _as_httpx(case, headers)
                response = await send(request)
                report.statuses[response.status_code] = report.statuses.get(response.status_code, 0) + 1
                try:
                    dependency_down = (response.status_code == 503
                                       and '"service_unavailable"' in response.text)
                    checks = DEPENDENCY_DOWN_CHECKS if dependency_down else CHECKS
                    case.validate_response(response, checks=checks, headers=headers)
                except BaseException as exc:  # one group listing every failed check
                    if not isinstance(exc, Exception | BaseExceptionGroup):
                        raise
                    curl = case.as_curl_command(headers=headers, base_url="http://127.0.0.1:8000")
                    report.failures.append(
                        f"{operation.label} [{mode.value}] -> {response.status_code}: "
                        f"{str(exc).strip()[:1500]}\n    reproduce: {curl}\n"
                        f"    answer: {response.text[:300]}")
    return report


def _as_httpx(case: Any, headers: dict[str, str]) -> httpx.Request:
    """The exact bytes schemathesis would send with `requests`, as an httpx request."""
    kwargs = case.as_transport_kwargs(base_url="http://fuzz.test", headers=headers)
    kwargs.pop("cookies", None)
    prepared = requests.Request(**{k: v for k, v in kwargs.items()
                                   if k in ("method", "url", "headers", "params", "json", "data",
                                            "files")}).prepare()
    body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
    return httpx.Request(prepared.method or "GET", prepared.url or "", headers=dict(prepared.headers),
                         content=body or b"")
