"""Median and p90, defined once so the terminal, the API and the HTML agree.

- median: the middle value of the sorted sample; with an even count, the mean of the two
  middle values (what a spreadsheet's MEDIAN gives).
- p90: nearest rank, the smallest sample value with at least 90 % of the sample at or
  below it (`sorted[ceil(0.9 n) - 1]`): always a value that really occurred, so "90 % of
  first responses came within X" is literally true.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Stats:
    count: int = 0
    median: float | None = None  # seconds
    p90: float | None = None

    @classmethod
    def of(cls, values: Sequence[float]) -> Stats:
        if not values:
            return cls()
        ordered = sorted(values)
        return cls(len(ordered), float(statistics.median(ordered)), float(nearest_rank(ordered, 90)))

    def as_dict(self) -> dict[str, float | int | None]:
        return {"count": self.count, "median": self.median, "p90": self.p90}


def nearest_rank(ordered: Sequence[float], pct: float) -> float:
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def duration(seconds: float | None) -> str:
    """`45s`, `12m 05s`, `3h 20m`, `2d 4h`: readable, and sortable by eye."""
    if seconds is None:
        return "–"
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None
