"""What the store can hold, checked at the edge: every validated query, body and path value.

An integer beyond the signed 64-bit range or a date far outside any plausible window
(year 9999 with a -14:00 offset overflows on conversion to UTC) used to reach the store
and fail there as a 500; here they are a 400 naming the field (issue 22).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from router.web.jsonbody import INT_MAX, INT_MIN

YEAR_MIN, YEAR_MAX = 2000, 2100  # generous for a helpdesk; far from datetime's edges


def problem(value: Any) -> str:
    """Why `value` (or anything inside it) cannot be kept, or "" when it can."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, bool):
            continue
        if isinstance(item, int) and not INT_MIN <= item <= INT_MAX:
            return "integer outside the signed 64-bit range"
        if isinstance(item, datetime) and not _sane(item):
            return f"date outside the years {YEAR_MIN}-{YEAR_MAX}"
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
        elif isinstance(item, BaseModel):
            stack.extend(getattr(item, name) for name in type(item).model_fields)
    return ""


def _sane(when: datetime) -> bool:
    try:
        utc = when.astimezone(UTC) if when.tzinfo else when
    except OverflowError:
        return False
    return YEAR_MIN <= utc.year <= YEAR_MAX
