"""A small in-process rate limit: a token bucket per caller (their `sub`, else their address).

Each gateway replica counts on its own; with N replicas a caller gets up to N times the limit.
That is enough to stop a runaway script; a shared limit would need a shared store.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

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

