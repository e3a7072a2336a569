"""The route table: first match wins, staff-only rows stay staff-only, /internal is never routed."""

from __future__ import annotations

import pytest

from gateway.routes import find_route


@pytest.mark.parametrize(
    ("method", "path", "upstream", "public", "roles"),
    [
        ("GET", "/v1/purposes", "consent", True, None),
        ("PUT", "/v1/cookie-choices/c1", "consent", True, None),
        ("GET", "/v1/certificates/ABC-123/verification", "training-records", True, None),
        ("GET", "/v1/certificates/ABC-123", "training-records", True, None),
        ("POST", "/v1/tenants", "training-records", False, {"operator"}),
        ("GET", "/v1/tenants/t1/participants/p1", "training-records", False, None),
        ("POST", "/v1/tenants/t1/participants", "training-records", False, None),
        ("PUT", "/v1/subjects/s1/consents/newsletter", "consent", False, None),
        ("POST", "/v1/purposes", "consent", False, {"dpo", "operator"}),
        ("POST", "/v1/erasure-jobs", "retention", False, {"dpo", "operator"}),
        ("GET", "/v1/erasure-jobs/j1", "retention", False, {"dpo", "operator"}),
        ("POST", "/v1/legal-holds", "retention", False, {"dpo", "operator"}),
        ("PUT", "/v1/retention-rules/consent/cookie-choices", "retention", False,
         {"dpo", "operator"}),
        ("POST", "/v1/retention-sweeps/s1/approve", "retention", False, {"dpo", "operator"}),
        ("GET", "/v1/processing-register", "retention", False, {"dpo", "operator"}),
        ("GET", "/v1/sub-processors", "retention", False, None),
        ("POST", "/v1/sub-processors", "retention", False, {"operator"}),
        ("PATCH", "/v1/sub-processors/x1", "retention", False, {"operator"}),
        ("POST", "/v1/tenants/t1/participants/p1/closure", "training-records", False, None),
        ("GET", "/v1/breaches/b1", "breach", False, {"dpo", "operator"}),
        ("POST", "/v1/subject-requests", "subject-rights", False, None),
    ],
)
def test_rows(method: str, path: str, upstream: str, public: bool, roles: set[str] | None) -> None:
    route = find_route(method, path)
    assert route is not None
    assert (route.upstream, route.public) == (upstream, public)
    assert (set(route.roles) if route.roles is not None else None) == roles


@pytest.mark.parametrize("path", ["/internal/export/s1", "/v1", "/v1/nothing", "/healthz",
                                  "/v1/subjects/s1"])
def test_unrouted(path: str) -> None:
    assert find_route("GET", path) is None
