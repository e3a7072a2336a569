"""A small in-process rate limit: a token bucket per caller (their `sub`, else their address).

Each gateway replica counts on its own; with N replicas a caller gets up to N times the limit.
That is enough to stop a runaway script; a shared limit would need a shared store.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_address

from fastapi import Request

from privacy_kit.errors import ApiError


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self, per_minute: int, *, max_callers: int = 100_000) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.max_callers = max_callers
        self._buckets: dict[str, _Bucket] = {}

    @property
    def enabled(self) -> bool:
        return self.capacity > 0

    def check(self, caller: str, now: float | None = None) -> None:
        """Take one request from the caller's bucket, or raise 429 saying when to come back."""
        if not self.enabled:
            return
        now = time.monotonic() if now is None else now
        bucket = self._buckets.get(caller)
        if bucket is None:
            if len(self._buckets) >= self.max_callers:
                self._forget_full_buckets(now)
            bucket = self._buckets[caller] = _Bucket(self.capacity, now)
        else:
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        if bucket.tokens < 1:
            retry_after = math.ceil((1 - bucket.tokens) / self.rate)
            raise ApiError(
                429, "rate_limited",
                f"Too many requests: at most {int(self.capacity)} a minute. "
                f"Try again in {retry_after} s.",
                headers={"Retry-After": str(retry_after)},
            )
        bucket.tokens -= 1

    def _forget_full_buckets(self, now: float) -> None:
        # A bucket that has refilled completely carries no information.
        full_after = self.capacity / self.rate
        self._buckets = {
            k: b for k, b in self._buckets.items() if now - b.updated < full_after
        }


def client_address(
    request: Request, trusted: Sequence[IPv4Network | IPv6Network] = ()
) -> str:
    """The caller's address: the connection's own, unless that is a trusted proxy; then the
    nearest address in X-Forwarded-For that is not a trusted proxy itself (right to left, as
    each proxy appends the address it saw). A forged header from anyone else is ignored."""
    peer = request.client.host if request.client else "unknown"
    if not trusted or not _is_trusted(peer, trusted):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer


def _is_trusted(address: str, trusted: Sequence[IPv4Network | IPv6Network]) -> bool:
    try:
        parsed = ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in trusted)
