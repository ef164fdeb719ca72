"""SLA due times count business hours across weekends, holidays and DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from router.engine.agents.sla import (
    ALWAYS_OPEN,
    add_business_time,
    business_time_between,
    parse_business_hours,
)

STOCKHOLM = ZoneInfo("Europe/Stockholm")
HOURS = parse_business_hours({
    "timezone": "Europe/Stockholm",
    "weekly": {"mon-fri": "08:00-17:00", "sat": "10:00-14:00"},
    "holidays": ["2026-12-24", "2026-12-25", "2026-12-26"],
})
WEEKDAYS = parse_business_hours({"timezone": "Europe/Stockholm", "weekly": {"mon-fri": "08:00-17:00"}})


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=STOCKHOLM)  # type: ignore[misc]


def test_inside_opening_hours_is_plain_addition():
    assert add_business_time(HOURS, local(2026, 3, 10, 9), timedelta(hours=2)) == local(2026, 3, 10, 11)


def test_friday_evening_rolls_over_the_weekend():
    due = add_business_time(WEEKDAYS, local(2026, 3, 6, 16, 30), timedelta(hours=1))
    assert due == local(2026, 3, 9, 8, 30)  # Monday


def test_saturday_hours_count_when_configured():
    due = add_business_time(HOURS, local(2026, 3, 6, 16, 30), timedelta(hours=1))
    assert due == local(2026, 3, 7, 10, 30)  # Saturday morning


def test_queued_at_night_starts_counting_at_opening():
    due = add_business_time(WEEKDAYS, local(2026, 3, 10, 2), timedelta(minutes=30))
    assert due == local(2026, 3, 10, 8, 30)


def test_christmas_holidays_are_skipped():
    # Wed 23 Dec 16:00 + 2h: 1h on Wednesday, 24-26 are holidays, Sunday closed -> Mon 28 09:00
    due = add_business_time(HOURS, local(2026, 12, 23, 16), timedelta(hours=2))
    assert due == local(2026, 12, 28, 9)


def test_dst_spring_forward_over_the_weekend_keeps_working_hours_local():
    # Europe/Stockholm goes CET -> CEST on Sunday 29 March 2026.
    start = local(2026, 3, 27, 16, 30)
    due = add_business_time(WEEKDAYS, start, timedelta(hours=1))
    assert due == local(2026, 3, 30, 8, 30)
    assert start.astimezone(UTC).hour == 15 and due.astimezone(UTC).hour == 6  # offset moved


def test_dst_fall_back_and_calendar_sla_counts_real_hours():
    start = local(2026, 10, 24, 12)  # Saturday before CEST -> CET on the 25th
    due = add_business_time(ALWAYS_OPEN, start, timedelta(hours=24))
    assert due.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=24)
    assert due.astimezone(STOCKHOLM).hour == 11  # wall clock shows 11:00: one hour was repeated


def test_business_time_between_counts_only_open_time():
    assert business_time_between(WEEKDAYS, local(2026, 3, 6, 16), local(2026, 3, 9, 9)) == timedelta(hours=2)
    assert business_time_between(WEEKDAYS, local(2026, 3, 9, 9), local(2026, 3, 9, 9)) == timedelta(0)


def test_round_trip_add_then_measure():
    start = local(2026, 3, 25, 15, 12)
    for hours in (1, 5, 9, 20, 47):
        due = add_business_time(HOURS, start, timedelta(hours=hours))
        assert business_time_between(HOURS, start, due) == timedelta(hours=hours)


@pytest.mark.parametrize("raw, fragment", [
    ({"timezone": "Mars/Olympus", "weekly": {"mon": "08:00-17:00"}}, "unknown timezone"),
    ({"weekly": {"mon-fry": "08:00-17:00"}}, "mon-fry"),
    ({"weekly": {"mon": "8-17"}}, "not a time range"),
    ({"weekly": {"mon": "17:00-08:00"}}, "end must follow"),
    ({"weekly": {"mon": "closed"}}, "no open hours"),
    ({"weekly": {"mon": "08:00-17:00"}, "holidays": ["christmas"]}, "not a date"),
])
def test_bad_business_hours_are_named(raw, fragment):
    with pytest.raises(ValueError, match=fragment):
        parse_business_hours(raw)
