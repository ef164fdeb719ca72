"""Stored timestamps: fixed-width UTC text that sorts as time, read back exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from router.store.base import parse_ts, ts


@pytest.mark.parametrize("value", [
    datetime(2026, 1, 1, tzinfo=UTC),
    datetime(2026, 3, 29, 1, 59, 59, 999999, tzinfo=UTC),
    datetime(2026, 10, 25, 3, 0, 0, 1, tzinfo=timezone(timedelta(hours=2))),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
])
def test_round_trip_is_exact_and_in_utc(value: datetime) -> None:
    back = parse_ts(ts(value))
    assert back == value
    assert back is not None and back.tzinfo is UTC and back.utcoffset() == timedelta(0)


def test_fast_path_reads_the_same_as_strptime() -> None:
    text = "2026-03-04T05:06:07.000008Z"
    slow = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert parse_ts(text) == slow and parse_ts(text).tzinfo is slow.tzinfo  # type: ignore[union-attr]


@pytest.mark.parametrize("bad", ["2026-03-04", "2026-03-04T05:06:07+00:00", "yesterday",
                                 "2026-13-04T05:06:07.000000Z"])
def test_anything_else_is_rejected(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_ts(bad)


def test_empty_is_none() -> None:
    assert parse_ts(None) is None and parse_ts("") is None and ts(None) is None
