"""Times of the register: offsets required, nothing in the future, shown in Amsterdam beside UTC.

A time without an offset is refused rather than read as UTC: a Dutch DPO typing the local
time would otherwise get deadlines one or two hours late. "Now" is a dependency (`Now`) and a
keyword argument of every service function, so tests set the clock instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from pydantic import AfterValidator, BaseModel, Field, computed_field

from breach.i18n import tr
from privacy_kit.errors import ApiError

Clock = Callable[[], datetime]
AMSTERDAM = "Europe/Amsterdam"

OFFSET_EXAMPLE = "e.g. 2026-03-28T10:00:00+01:00, or 2026-03-28T09:00:00Z for UTC"


def _with_offset(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(tr(
            "give the time with its UTC offset ({example}); a time without an offset is "
            "ambiguous and would put the deadlines an hour or two off",
            example=tr("e.g. {local}, or {utc} for UTC", local="2026-03-28T10:00:00+01:00",
                       utc="2026-03-28T09:00:00Z")))
    return value.astimezone(UTC)


Instant = Annotated[
    datetime,
    AfterValidator(_with_offset),
    Field(description="ISO 8601 with an offset (Z or +01:00); refused without one or in the future"),
]


def utcnow() -> datetime:
    return datetime.now(UTC)


async def _now(request: Request) -> datetime:
    clock: Clock | None = getattr(request.app.state, "clock", None)
    return (clock or utcnow)()


Now = Annotated[datetime, Depends(_now)]


@lru_cache(maxsize=4)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local(value: datetime | None, zone: str = AMSTERDAM) -> datetime | None:
    """The same instant on the Amsterdam wall clock (CET/CEST), for people to read."""
    return value.astimezone(_zone(zone)) if value is not None else None


class IncidentTimes(BaseModel):
    """When a breach happened and was discovered and noticed, in UTC as stored and beside each
    the same instant on the Amsterdam wall clock, for the people who read a report or notice."""

    occurred_from: datetime | None
    occurred_until: datetime | None
    discovered_at: datetime
    aware_at: datetime | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def occurred_from_amsterdam(self) -> datetime | None:
        return local(self.occurred_from)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def occurred_until_amsterdam(self) -> datetime | None:
        return local(self.occurred_until)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def discovered_at_amsterdam(self) -> datetime | None:
        return local(self.discovered_at)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def aware_at_amsterdam(self) -> datetime | None:
        return local(self.aware_at)


def refuse_future(now: datetime, tolerance_s: float, **times: datetime | None) -> None:
    """422 for any named time later than now (plus a small allowance for clock skew)."""
    limit = now + timedelta(seconds=tolerance_s)
    late = [(name, value) for name, value in times.items() if value is not None and value > limit]
    if late:
        name, value = late[0]
        raise ApiError(
            422, "time_in_future",
            tr("{name} ({value}) lies in the future (now is {now}); record times that have "
               "happened.", name=name, value=value.isoformat(), now=now.isoformat()),
            details=[{"field": n, "message": tr("lies in the future")} for n, _ in late],
        )


def minutes_between(start: datetime, end: datetime) -> int:
    """Whole minutes from start to end (negative when end is earlier)."""
    return int((end - start).total_seconds() // 60)


def minutes_left(now: datetime, due: datetime) -> int:
    """Whole minutes until due, counted towards zero: 1 at 23:59 of 24 h, -1 at 24:01."""
    seconds = (due - now).total_seconds()
    return int(seconds // 60) if seconds >= 0 else -int(-seconds // 60)
