"""The coarse access rules the gateway enforces before anything reaches a service."""

from __future__ import annotations

import re

from fastapi import Request

from gateway.routes import Route
from privacy_kit.auth import Principal, check_tenant, current_principal, forbidden
from privacy_kit.errors import ApiError

_TENANT_PATH = re.compile(r"^/v1/tenants/([^/]+)")
_SUBJECT_PATH = re.compile(r"^/v1/subjects/([^/]+)")
# Roles that may reach other people's subject paths at the gateway; the service decides the rest.
_BEYOND_SELF = ("beheerder", "dpo", "operator")


def authorize(request: Request, route: Route, path: str) -> Principal | None:
    """Who is calling, or None on a public route. Raises 401/403 in the shared error shape."""
    if route.public:
        return None
    principal = current_principal(request)
    if route.roles is not None and not principal.has(*route.roles):
        raise forbidden(f"This needs one of the roles: {', '.join(sorted(route.roles))}.")
    tenant = _TENANT_PATH.match(path)
    if tenant:
        check_tenant(principal, tenant.group(1))
    subject = _SUBJECT_PATH.match(path)
    if subject and not principal.has(*_BEYOND_SELF) and principal.sub != subject.group(1):
        raise forbidden("You can only reach your own data.")
    return principal


def principal_or_none(request: Request) -> Principal | None:
    """The verified caller if the request carries a valid token (used to key rate limits)."""
    if not request.headers.get("authorization"):
        return None
    try:
        return current_principal(request)
    except ApiError:
        return None
