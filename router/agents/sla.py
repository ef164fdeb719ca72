"""SLA clocks: due times that count business hours, pause while waiting on the customer.

A due time is "start plus N seconds of open time". Business hours are a weekly timetable
in one timezone minus holidays; the arithmetic walks open intervals converted to UTC one
local day at a time, so a DST change shortens or lengthens the *night*, never the count
of working seconds. Calendar SLAs (business_hours: false) use `ALWAYS_OPEN`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from router.config import SlaSettings
from router.model import Conversation

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_MAX_DAYS = 800  # a timetable open less than once in two years is treated as never open
Span = tuple[int, int]  # minutes since local midnight, [start, end)


class BusinessCalendar(Protocol):
    def open_intervals(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open intervals in UTC, ascending, the first clipped to begin at `start`."""
        ...


class _AlwaysOpen:
    def open_intervals(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        yield start.astimezone(UTC), datetime.max.replace(tzinfo=UTC)


ALWAYS_OPEN: BusinessCalendar = _AlwaysOpen()


@dataclass(frozen=True, slots=True)
class WeeklyCalendar:
    tz: tzinfo
    weekly: tuple[tuple[Span, ...], ...]  # index 0 = Monday
    holidays: frozenset[date] = frozenset()

    def _at(self, day: date, minute: int) -> datetime:
        # Build the local wall time, then convert: zoneinfo applies that day's offset.
        local = datetime.combine(day + timedelta(days=minute // 1440),
                                 time((minute % 1440) // 60, minute % 60), tzinfo=self.tz)
        return local.astimezone(UTC)

    def open_intervals(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        start = start.astimezone(UTC)
        first = start.astimezone(self.tz).date() - timedelta(days=1)
        for offset in range(_MAX_DAYS):
            day = first + timedelta(days=offset)
            if day in self.holidays:
                continue
            for a, b in self.weekly[day.weekday()]:
                lo, hi = self._at(day, a), self._at(day, b)
                if hi > start:
                    yield max(lo, start), hi


def add_business_time(calendar: BusinessCalendar, start: datetime, amount: timedelta) -> datetime:
    """`start` plus `amount` of open time. Raises ValueError if the calendar never opens."""
    remaining = amount
    # UTC first: adding a timedelta to a zoned time adds wall-clock time, wrong across DST
    for lo, hi in calendar.open_intervals(start.astimezone(UTC)):
        if remaining <= hi - lo:
            return lo + remaining
        remaining -= hi - lo
    raise ValueError("business_hours are never open: an SLA cannot come due")


def business_time_between(calendar: BusinessCalendar, a: datetime, b: datetime) -> timedelta:
    """Open time in [a, b): how long an SLA clock ran (or would have) in that window."""
    total = timedelta()
    if b <= a:
        return total
    for lo, hi in calendar.open_intervals(a.astimezone(UTC)):
        if lo >= b:
            break
        total += min(hi, b) - lo
    return total


def parse_business_hours(raw: Mapping[str, Any] | None) -> BusinessCalendar:
    """The config's `business_hours` block; ALWAYS_OPEN when it is absent.

    Raises ValueError naming the bad part, e.g. `weekly.mon-fri: '8-17' is not a time range`.
    """
    if not raw:
        return ALWAYS_OPEN
    name = str(raw.get("timezone", "UTC"))
    try:
        tz = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"timezone: unknown timezone '{name}'; use an IANA name such as "
                         "Europe/Stockholm") from None
    days: list[list[Span]] = [[] for _ in DAYS]
    for key, value in (raw.get("weekly") or {}).items():
        spans = _spans(key, value)
        for day in _days(key):
            days[day].extend(spans)
    if not any(days):
        raise ValueError("weekly: no open hours on any day; add e.g. mon-fri: 08:00-17:00, "
                         "or remove business_hours for calendar time")
    holidays = frozenset(_date(h) for h in raw.get("holidays") or ())
    return WeeklyCalendar(tz, tuple(tuple(sorted(d)) for d in days), holidays)


def _days(key: str) -> list[int]:
    out: list[int] = []
    for part in str(key).lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(f"weekly.{key}: not a day or day range; use mon..sun, e.g. mon-fri")
        out.extend(range(DAYS.index(first), DAYS.index(last or first) + 1))
    return out


def _spans(key: str, value: Any) -> list[Span]:
    if value is None or value is False or str(value).strip().lower() == "closed":
        return []
    spans = []
    for item in value if isinstance(value, list) else str(value).split(","):
        m = _SPAN.match(str(item))
        if not m:
            raise ValueError(f"weekly.{key}: '{item}' is not a time range; write e.g. 08:00-17:00")
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        lo, hi = h1 * 60 + m1, h2 * 60 + m2
        if max(m1, m2) > 59 or hi > 1440 or hi <= lo:
            raise ValueError(f"weekly.{key}: '{item}': the end must follow the start, within 24:00")
        spans.append((lo, hi))
    return spans


def _date(value: Any) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"holidays: '{value}' is not a date; write e.g. 2026-12-24") from None


# --- clocks on a conversation ----------------------------------------------------------
def _calendar(sla: SlaSettings, calendar: BusinessCalendar) -> BusinessCalendar:
    return calendar if sla.business_hours else ALWAYS_OPEN


def start_clocks(conv: Conversation, sla: SlaSettings, calendar: BusinessCalendar,
                 now: datetime) -> None:
    """Set the due times a queued conversation lacks (first queueing, or a reopen)."""
    cal = _calendar(sla, calendar)
    if conv.first_response_at is None and conv.first_response_due is None and sla.first_response:
        conv.first_response_due = add_business_time(cal, now, sla.first_response)
    if conv.resolution_due is None and sla.resolution:
        conv.resolution_due = add_business_time(cal, now, sla.resolution)
        conv.sla_resolution_breached_at = None  # a new resolution cycle may breach anew
        conv.sla_paused_at = None


def stop_clocks(conv: Conversation) -> None:
    """On resolve: the resolution cycle is over (breach marks stay for reports)."""
    conv.resolution_due = None
    conv.sla_paused_at = None


def pause(conv: Conversation, sla: SlaSettings, now: datetime) -> None:
    """After an agent reply: stop the resolution clock if the queue says so."""
    if sla.pause_when_waiting and conv.resolution_due and not conv.sla_resolution_breached_at:
        conv.sla_paused_at = conv.sla_paused_at or now


def resume(conv: Conversation, sla: SlaSettings, calendar: BusinessCalendar,
           now: datetime) -> None:
    """On a customer message: push the due time back by the open time spent waiting."""
    if conv.sla_paused_at is None:
        return
    if conv.resolution_due is not None:
        waited = business_time_between(_calendar(sla, calendar), conv.sla_paused_at, now)
        conv.resolution_due += waited
    conv.sla_paused_at = None
