"""Business hours: a weekly timetable in one timezone, minus holidays.

Rules ask "are we open?", templates say when we open next, and SLA clocks (in the core)
pause outside these hours; all three go through `Schedule`, so they cannot disagree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
Span = tuple[int, int]  # minutes since midnight, [start, end)


def parse_days(key: str) -> list[int]:
    """'mon-fri' / 'sat,sun' / 'wed' -> weekday numbers (0 = Monday)."""
    out: list[int] = []
    for part in str(key).lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(f"'{key}' is not a day or day range; use mon..sun, e.g. mon-fri")
        a, b = DAYS.index(first), DAYS.index(last or first)
        if b < a:
            raise ValueError(f"'{key}': a range must go forward in the week, e.g. mon-fri")
        out.extend(range(a, b + 1))
    return out


def parse_spans(value: object) -> list[Span]:
    """'08:00-17:00' / '08:00-12:00, 13:00-17:00' / a list of those / 'closed' -> spans."""
    if value is None or value is False or str(value).strip().lower() == "closed":
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    spans: list[Span] = []
    for item in items:
        m = _SPAN.match(str(item))
        if not m:
            raise ValueError(f"'{item}' is not a time range; write e.g. 08:00-17:00 or closed")
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if m1 > 59 or m2 > 59 or h1 > 23 or end > 24 * 60 or end <= start:
            raise ValueError(f"'{item}': the end must be after the start, both within 00:00-24:00")
        spans.append((start, end))
    return sorted(spans)


def parse_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone '{name}'; use an IANA name such as "
                         "Europe/Stockholm or Europe/Kyiv") from None


@dataclass(frozen=True, slots=True)
class Schedule:
    """Opening hours per weekday in `tz`; `always_open` when none are configured."""

    tz: ZoneInfo
    weekly: tuple[tuple[Span, ...], ...]  # index 0 = Monday
    holidays: frozenset[date]
    always_open: bool = False

    @classmethod
    def build(cls, timezone: str, weekly: Mapping[str, object],
              holidays: Iterable[date]) -> Schedule:
        days: list[list[Span]] = [[] for _ in DAYS]
        for key, value in weekly.items():
            for day in parse_days(key):
                days[day].extend(parse_spans(value))
        return cls(parse_timezone(timezone), tuple(tuple(sorted(d)) for d in days),
                   frozenset(holidays))

    @classmethod
    def open_always(cls) -> Schedule:
        return cls(ZoneInfo("UTC"), tuple(((0, 1440),) for _ in DAYS), frozenset(), True)

    def _local(self, now: datetime) -> datetime:
        if now.tzinfo is None:  # naive times are UTC everywhere in this project
            now = now.replace(tzinfo=UTC)
        return now.astimezone(self.tz)

    def _spans(self, day: date) -> tuple[Span, ...]:
        return () if day in self.holidays else self.weekly[day.weekday()]

    def is_open(self, now: datetime) -> bool:
        if self.always_open:
            return True
        local = self._local(now)
        minute = local.hour * 60 + local.minute
        return any(a <= minute < b for a, b in self._spans(local.date()))

    def next_opening(self, now: datetime) -> datetime | None:
        """`now` if open, else the start of the next open span; None if never open."""
        if self.is_open(now):
            return now
        local = self._local(now)
        minute = local.hour * 60 + local.minute
        for offset in range(0, 370):
            day = local.date() + timedelta(days=offset)
            for start, _end in self._spans(day):
                if offset == 0 and start <= minute:
                    continue
                naive = datetime.combine(day, time(start // 60, start % 60))
                return naive.replace(tzinfo=self.tz)
        return None
