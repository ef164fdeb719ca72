"""Business hours: a weekly timetable in one timezone, minus holidays.

Rules ask "are we open?", templates and the away reply say when we open next, and SLA
clocks count only open time; all of them go through `Schedule`, parsed once from the
config's `business_hours`, so they cannot disagree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
Span = tuple[int, int]  # minutes since midnight, [start, end)
_MAX_DAYS = 800  # a timetable open less than once in two years is treated as never open


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
            raise ValueError(f"'{item}': the end must follow the start, both within 00:00-24:00")
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
    # (UTC minute, open?) of the last `is_open` asked: every decision asks (rules, the
    # away bot), and at a few hundred messages a second most ask within the same minute
    _last: list[tuple[float, bool]] = field(default_factory=lambda: [(float("nan"), False)],
                                            compare=False, hash=False, repr=False)

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

    def local_minute(self, now: datetime) -> tuple[date, int]:
        """The local day and minute of `now`: all that `is_open` and, while closed,
        `next_opening` depend on."""
        local = self._local(now)
        return local.date(), local.hour * 60 + local.minute

    def is_open(self, now: datetime) -> bool:
        if self.always_open:
            return True
        if now.tzinfo is None:  # naive times are UTC everywhere in this project
            now = now.replace(tzinfo=UTC)
        utc_minute = now.timestamp() // 60
        last = self._last[0]
        if last[0] == utc_minute:
            return last[1]
        local = now.astimezone(self.tz)
        minute = local.hour * 60 + local.minute
        is_open = any(a <= minute < b for a, b in self._spans(local.date()))
        offset = local.utcoffset()
        # a UTC minute is one local minute when the offset is whole minutes (every zone
        # since about 1900; DST moves at whole minutes): only then may the next ask reuse it
        if offset is not None and offset.seconds % 60 == 0:
            self._last[0] = (utc_minute, is_open)  # one atomic swap: safe across threads
        return is_open

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

    def open_intervals(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open intervals in UTC, ascending, the first clipped to begin at `start`.

        Each local day's spans are converted with that day's UTC offset, so a DST change
        shortens or lengthens the night, never the count of open seconds.
        """
        start = self._local(start).astimezone(UTC)
        if self.always_open:
            yield start, datetime.max.replace(tzinfo=UTC)
            return
        first = start.astimezone(self.tz).date() - timedelta(days=1)
        for offset in range(_MAX_DAYS):
            day = first + timedelta(days=offset)
            for a, b in self._spans(day):
                lo, hi = self._utc(day, a), self._utc(day, b)
                if hi > start:
                    yield max(lo, start), hi

    def _utc(self, day: date, minute: int) -> datetime:
        # the local wall time first, then convert: zoneinfo applies that day's offset
        local = datetime.combine(day + timedelta(days=minute // 1440),
                                 time((minute % 1440) // 60, minute % 60), tzinfo=self.tz)
        return local.astimezone(UTC)


def parse_business_hours(raw: Mapping[str, Any] | None) -> Schedule:
    """The config's `business_hours` block; always open when it is absent.

    Raises ValueError naming the bad part, e.g. `weekly.mon-fri: '8-17' is not a time range`.
    """
    if not raw:
        return Schedule.open_always()
    weekly = raw.get("weekly") or {}
    for key, value in weekly.items():
        try:
            parse_days(key)
            parse_spans(value)
        except ValueError as exc:
            raise ValueError(f"weekly.{key}: {exc}") from None
    holidays = [_date(h) for h in raw.get("holidays") or ()]
    schedule = Schedule.build(str(raw.get("timezone", "UTC")), weekly, holidays)
    if not any(schedule.weekly):
        raise ValueError("weekly: no open hours on any day; add e.g. mon-fri: 08:00-17:00, "
                         "or remove business_hours for calendar time")
    return schedule


def _date(value: Any) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"holidays: '{value}' is not a date; write e.g. 2026-12-24") from None
