"""`ts` has a fast path for UTC datetimes: it must give strftime's text exactly."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

from router.store.base import parse_ts, ts


def _reference(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_ts_matches_strftime() -> None:
    rnd = random.Random(7)
    zones = [UTC, timezone(timedelta(0)), timezone(timedelta(hours=2)), timezone(timedelta(hours=-5))]
    values = [datetime(2026, 1, 1, tzinfo=UTC), datetime(1, 1, 1, tzinfo=UTC),
              datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
              datetime(1000, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)]
    for _ in range(5000):
        values.append(datetime(rnd.randint(1000, 9998), rnd.randint(1, 12), rnd.randint(1, 28),
                               rnd.randint(0, 23), rnd.randint(0, 59), rnd.randint(0, 59),
                               rnd.choice([0, rnd.randint(0, 999_999)]),
                               tzinfo=rnd.choice(zones)))
    for value in values:
        assert ts(value) == _reference(value), value
        assert ts(value) == _reference(value), value  # the last-value cache
        if value.year >= 1000:
            assert parse_ts(ts(value)) == value
    assert ts(None) is None


def test_values_read_are_written_back_as_read() -> None:
    """ts of a value parse_ts returned is the text read, also for the same instant in
    another zone (the last-values cache must not mix them up)."""
    rnd = random.Random(11)
    plus_two = timezone(timedelta(hours=2))
    for _ in range(10_000):
        text = ts(datetime(rnd.randint(1000, 9998), rnd.randint(1, 12), rnd.randint(1, 28),
                           rnd.randint(0, 23), rnd.randint(0, 59), rnd.randint(0, 59),
                           rnd.randint(0, 999_999), tzinfo=UTC))
        assert text is not None
        read = parse_ts(text)
        assert read is not None
        assert ts(read) == text
        assert ts(read.astimezone(plus_two)) == text == _reference(read.astimezone(plus_two))
