"""The route table: which public path goes to which service, and who may call it.

One row per rule; the first row whose methods and path pattern match wins, so put specific
rows before general ones. Add rows here when a service grows a new public resource.

Each row: methods ("GET PUT" or "*"), a regular expression on the decoded path, the upstream
(a store name, see privacy_kit.settings.STORES), the roles allowed (None = any signed-in caller) and
`public=True` for routes that need no token at all. The gateway checks these coarse rules
and the tenant/subject rules in access.py; every service checks its finer rules again with
the same token, which the gateway forwards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from privacy_kit.settings import STORES

ALL_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
WRITES = "POST PUT PATCH DELETE"
STAFF = frozenset({"dpo", "operator"})
OPERATOR = frozenset({"operator"})


@dataclass(frozen=True)
class Route:
    methods: str
    pattern: str
    upstream: str
    roles: frozenset[str] | None = None
    public: bool = False
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)
    _methods: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_regex", re.compile(self.pattern))
        methods = ALL_METHODS if self.methods == "*" else frozenset(self.methods.upper().split())
        if "GET" in methods:
            methods |= {"HEAD"}
        object.__setattr__(self, "_methods", methods)

    @property
    def template(self) -> str:
        """The row as a readable label without ids: `/v1/subjects/{id}/(consents|...)`."""
        readable = self.pattern.replace("[^/]+", "{id}").lstrip("^").removesuffix("$")
        return f"{self.upstream} {readable}"

    def matches_path(self, path: str) -> bool:
        return self._regex.search(path) is not None

    def matches(self, method: str, path: str) -> bool:
        return method.upper() in self._methods and self.matches_path(path)


# Routes whose bodies may be bigger than the gateway's input limits (MAX_BODY_BYTES,
# MAX_JSON_ITEMS): (method, path pattern) -> (bytes, items per list). A breach may name up to
# 200,000 affected people (the breach service takes as much); every other route keeps the
# tight default, which is checked before the token (privacy_kit.validation).
BODY_LIMITS: dict[tuple[str, str], tuple[int, int]] = {
    ("POST", r"^/v1/breaches/?$"): (10 * 1024 * 1024, 200_000),
}

ROUTES: tuple[Route, ...] = (
    # Public: anonymous visitors' cookie choices (O10), the purposes and policy texts a consent
    # screen shows, and checking that a certificate is genuine.
    Route("GET PUT POST", r"^/v1/cookie-choices(/|$)", "consent", public=True),
    Route("GET", r"^/v1/(purposes|policies)(/|$)", "consent", public=True),
    Route("GET", r"^/v1/certificates/[^/]+/verification$", "training-records", public=True),
    Route("GET", r"^/v1/certificates/[^/]+$", "training-records", public=True),
    Route("GET", r"^/v1/erasure-certificates/public-key(\.pem)?$", "retention", public=True),
    # One-click unsubscribe links in mail (O12, RFC 8058): the signed token is the credential.
    Route("GET POST", r"^/v1/unsubscribe/[^/]+$", "consent", public=True),
    # Audits per client (O29): staff record them, the client's Beheerders read them.
    Route("*", r"^/v1/tenants/[^/]+/audits(/|$)", "retention"),
    # Training records.
    Route("POST", r"^/v1/tenants/?$", "training-records", roles=OPERATOR),
    Route("*", r"^/v1/tenants(/|$)", "training-records"),
    Route("*", r"^/v1/(trainings|certificates|experts)(/|$)", "training-records"),
    # Consent.
    Route("*", r"^/v1/subjects/[^/]+/consents(/|$)", "consent"),
    Route(WRITES, r"^/v1/(purposes|policies)(/|$)", "consent", roles=STAFF),
    Route("*", r"^/v1/subjects/[^/]+/(marketing-objections?|parental-consents)(/|$)", "consent"),
    Route("GET", r"^/v1/consent-renewals/?$", "consent", roles=STAFF),
    Route("GET", r"^/v1/subjects/[^/]+/unsubscribe-link$", "consent", roles=STAFF),
    Route("GET PUT", r"^/v1/subjects/[^/]+/policy-acceptances(/|$)", "consent"),
    Route("GET", r"^/v1/policy-announcements/[^/]+(/recipients)?$", "consent", roles=STAFF),
    # Retention and erasure. A Beheerder may start the erasure of a participant of their own
    # tenant (retention checks whose participant it is).
    Route("POST", r"^/v1/erasure-jobs/?$", "retention", roles=STAFF | {"beheerder"}),
    Route("*", r"^/v1/erasure-(jobs|replays)(/|$)", "retention", roles=STAFF),
    # Operators and the tenant's own Beheerders (retention checks which tenant).
    Route("*", r"^/v1/contract-terminations(/|$)", "retention"),
    Route("*", r"^/v1/(legal-holds|retention-rules|retention-sweeps|processing-register)(/|$)",
          "retention", roles=STAFF),
    # The sub-processor list is for everyone signed in (O7); operators maintain it.
    Route("GET", r"^/v1/sub-processors(/|$)", "retention"),
    Route(WRITES, r"^/v1/sub-processors(/|$)", "retention", roles=OPERATOR),
    # What each store wrote to people (identity codes, notices), for staff.
    *(Route("GET", rf"^/v1/messages/{store}/?$", store, roles=STAFF) for store in STORES),
    # Breaches (O26-O28): the register is staff only; a Beheerder reaches their own tenant's
    # notices (the service filters by the token's tenant); anyone signed in reads the notices
    # sent to them. Disclosures to authorities (O30): staff record, Beheerders read their own.
    Route("GET", r"^/v1/breach-notices/mine/?$", "breach"),
    Route("*", r"^/v1/breach-notices(/|$)", "breach", roles=STAFF | {"beheerder"}),
    Route("*", r"^/v1/breaches(/|$)", "breach", roles=STAFF),
    # The one-time identity code (O20) works without signing in: the code is the proof.
    Route("POST", r"^/v1/subject-requests/[^/]+/verification/?$", "subject-rights", public=True),
    Route("GET", r"^/v1/authority-disclosures(/|$)", "breach", roles=STAFF | {"beheerder"}),
    Route("*", r"^/v1/authority-disclosures(/|$)", "breach", roles=STAFF),
    # Subject requests.
    Route("*", r"^/v1/subject-requests(/|$)", "subject-rights"),
    # "Delete my account" (O25): the person opens an erasure request.
    Route("POST", r"^/v1/subjects/[^/]+/erasure-request/?$", "subject-rights"),
)


def find_route(method: str, path: str, routes: tuple[Route, ...] = ROUTES) -> Route | None:
    """The first row matching both method and path. Nothing under /internal is ever routed."""
    if not path.startswith("/v1/"):
        return None
    return next((r for r in routes if r.matches(method, path)), None)


def path_is_routed(path: str, routes: tuple[Route, ...] = ROUTES) -> bool:
    """Some row knows this path, whatever the method (tells 405 from 404)."""
    return path.startswith("/v1/") and any(r.matches_path(path) for r in routes)
