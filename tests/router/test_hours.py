"""`Schedule.is_open` remembers its last minute; the answer must be what the timetable
says for every instant: at the edges of a span, across DST changes, on holidays, and in
a zone whose offset was not whole minutes (local mean time before 1900)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from router.domain.hours import Schedule

WEEKLY = {"mon-fri": "08:00-17:00", "sat": "10:00-10:01"}


def _schedule() -> Schedule:
    return Schedule.build("Europe/Stockholm", WEEKLY, [date(2026, 12, 24)])


def _by_the_timetable(schedule: Schedule, now: datetime) -> bool:
    """What `is_open` must say, worked out from scratch."""
    local = now.astimezone(schedule.tz)
    minute = local.hour * 60 + local.minute
    return any(a <= minute < b for a, b in schedule._spans(local.date()))


def test_the_edges_of_a_span_asked_in_order() -> None:
    schedule = _schedule()
    stockholm = ZoneInfo("Europe/Stockholm")
    opening = datetime(2026, 3, 3, 8, 0, tzinfo=stockholm)
    asked = [opening - timedelta(microseconds=1), opening, opening + timedelta(seconds=59),
             opening + timedelta(hours=9) - timedelta(microseconds=1),
             opening + timedelta(hours=9), opening + timedelta(hours=9, seconds=30)]
    assert [schedule.is_open(t) for t in asked] == [False, True, True, True, False, False]
    # Saturday's one open minute, then the holiday, asked within one UTC minute of each
    sat = datetime(2026, 3, 7, 10, 0, 30, tzinfo=stockholm)
    assert [schedule.is_open(sat), schedule.is_open(sat + timedelta(seconds=29)),
            schedule.is_open(sat + timedelta(seconds=30))] == [True, True, False]
    assert not schedule.is_open(datetime(2026, 12, 24, 9, 0, tzinfo=stockholm))


def test_naive_times_are_utc() -> None:
    schedule = _schedule()
    assert schedule.is_open(datetime(2026, 3, 3, 7, 0))  # 08:00 in Stockholm
    assert not schedule.is_open(datetime(2026, 3, 3, 6, 59, 59))


def test_a_zone_whose_offset_had_seconds_is_not_remembered_by_utc_minute() -> None:
    """Stockholm kept local mean time (+01:12:12) until 1879: a UTC minute there spans two
    local minutes, so 08:00:00 local is 06:47:48 UTC and 12 seconds earlier is 07:59."""
    schedule = Schedule.build("Europe/Stockholm", {"mon-sun": "08:00-09:00"}, [])
    opening = datetime(1850, 6, 3, 8, 0, tzinfo=ZoneInfo("Europe/Stockholm"))
    assert opening.utcoffset() == timedelta(hours=1, minutes=12, seconds=12)
    before = opening - timedelta(seconds=1)  # same UTC minute as `opening`
    assert (before.timestamp() // 60) == (opening.timestamp() // 60)
    assert [schedule.is_open(before), schedule.is_open(opening)] == [False, True]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31),
                             timezones=st.just(UTC)), min_size=1, max_size=30),
       st.integers(min_value=0, max_value=120))
def test_any_sequence_of_instants_gets_the_timetables_answer(instants: list[datetime],
                                                             step: int) -> None:
    """Random instants, each followed by one a few seconds on (same minute or the next),
    DST changes included (the range holds four)."""
    schedule = _schedule()
    for now in instants:
        for t in (now, now + timedelta(seconds=step)):
            assert schedule.is_open(t) == _by_the_timetable(schedule, t), t


def test_dst_change_nights() -> None:
    schedule = Schedule.build("Europe/Stockholm", {"mon-sun": "02:00-03:00"}, [])
    start = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)  # spring forward: 02:00 never happens
    for minute in range(0, 26 * 60, 7):
        t = start + timedelta(minutes=minute, seconds=minute % 60)
        assert schedule.is_open(t) == _by_the_timetable(schedule, t), t
    start = datetime(2026, 10, 24, 22, 0, tzinfo=UTC)  # fall back: 02:00-03:00 twice
    for minute in range(0, 26 * 60, 7):
        t = start + timedelta(minutes=minute, seconds=minute % 60)
        assert schedule.is_open(t) == _by_the_timetable(schedule, t), t
