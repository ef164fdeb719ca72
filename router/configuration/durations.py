"""Human durations in config ("90s", "30m", "1h", "1d", "1h30m") as seconds or timedelta."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


HINT = "write e.g. 30s, 15m, 2h, 1d or 1h30m"


def parse_duration(value: Any, *, positive: bool = False) -> timedelta:
    """Parse "1h30m" / "45s" / a number of seconds. Raises ValueError with a hint.

    Strict on purpose: "30 min" or "1,5h" is an error rather than a silently wrong number.
    `positive=True` also refuses zero (an idle timer of 0s would fire on every tick).
    """
    if isinstance(value, timedelta):
        delta = value
    elif isinstance(value, bool):
        raise ValueError(f"expected a duration; {HINT}")
    elif isinstance(value, int | float):
        delta = timedelta(seconds=float(value))
    else:
        delta = _parse_text(value)
    if delta < timedelta(0) or (positive and delta <= timedelta(0)):
        raise ValueError(f"a duration must be positive; {HINT}")
    return delta


def _parse_text(value: Any) -> timedelta:
    text = str(value).strip().lower().replace(" ", "")
    pos, total = 0, 0.0
    for m in _PART.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if not text or pos != len(text):
        raise ValueError(f"'{value}' is not a duration; {HINT}")
    return timedelta(seconds=total)


def format_duration(delta: timedelta) -> str:
    """Shortest readable form: 1h30m, 2d, 45s."""
    seconds = int(delta.total_seconds())
    if seconds <= 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
