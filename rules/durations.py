"""Durations as admins write them in rules ("90s", "30m", "1h", "1d", "1h30m").

Rules need durations for `on: {conversation_idle: 30m}`. The parser is strict on purpose:
"30 min" or "1,5h" is an error with a hint rather than a silently wrong number.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
HINT = "write e.g. 30s, 15m, 2h, 1d or 1h30m"


def parse_duration(value: Any) -> timedelta:
    """Parse "1h30m" / "45s" / a number of seconds into a timedelta.

    Raises:
        ValueError: the value is not a positive duration; the message says how to write one.
    """
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError(f"expected a duration; {HINT}")
    if isinstance(value, int | float):
        if value <= 0:
            raise ValueError(f"a duration must be positive; {HINT}")
        return timedelta(seconds=float(value))
    text = str(value).strip().lower().replace(" ", "")
    pos, total = 0, 0.0
    for m in _PART.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if not text or pos != len(text):
        raise ValueError(f"'{value}' is not a duration; {HINT}")
    if total <= 0:
        raise ValueError(f"a duration must be positive; {HINT}")
    return timedelta(seconds=total)


def format_duration(delta: timedelta) -> str:
    """Shortest readable form, the inverse of `parse_duration`: 1h30m, 2d, 45s."""
    seconds = int(delta.total_seconds())
    if seconds <= 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts)
