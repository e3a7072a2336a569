"""Legal terms of a request (O21), in the controller's time zone.

A term ends at the end of its last day, as EU Regulation 1182/71 on periods and time limits
counts them: four weeks end on the same weekday four weeks after the day of receipt; a term
extended by months ends on the same date that many months later, or on the last day of that
month when it has no such date (31 January + 1 month = 28 or 29 February). Weekends and
holidays count. Days are counted in Europe/Amsterdam, so the moment of receipt belongs to the
day it was there, and a term that crosses a change of daylight-saving time still ends at local
midnight. Instants are stored in UTC.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
_JUST_BEFORE = timedelta(microseconds=1)


def local_date(at: datetime, zone: ZoneInfo = AMSTERDAM) -> date:
    """The calendar day an instant falls on in the zone."""
    if at.tzinfo is None:
        raise ValueError("an instant needs a time zone")
    return at.astimezone(zone).date()


def end_of_day(day: date, zone: ZoneInfo = AMSTERDAM) -> datetime:
    """The instant the local day ends (the next local midnight), in UTC."""
    return datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)


def start_of_day(day: date, zone: ZoneInfo = AMSTERDAM) -> datetime:
    return datetime.combine(day, time(0), zone).astimezone(UTC)


def last_day(due_at: datetime, zone: ZoneInfo = AMSTERDAM) -> date:
    """The last day of a term that ends at `due_at` (the end of that day)."""
    return local_date(due_at - _JUST_BEFORE, zone)


def add_months(day: date, months: int) -> date:
    """The same date `months` later, or the last day of that month when it is shorter."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def due_at(received_at: datetime, *, days: int = 28, zone: ZoneInfo = AMSTERDAM) -> datetime:
    """When the first term of a request received at `received_at` ends."""
    return end_of_day(local_date(received_at, zone) + timedelta(days=days), zone)


def extended_due_at(first_due_at: datetime, months: int, zone: ZoneInfo = AMSTERDAM) -> datetime:
    """The end of the term extended by `months` from the end of the first term (Art. 12(3))."""
    return end_of_day(add_months(last_day(first_due_at, zone), months), zone)
