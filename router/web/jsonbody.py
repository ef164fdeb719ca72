"""The one JSON reader for everything that arrives from outside: bodies, frames, updates.

Bounds at the edge (issue 22): nesting deeper than orjson's 1,024 levels, integers
outside the signed 64-bit range the store keeps, NaN/Infinity, and strings with lone
surrogates (which no UTF-8 column can hold) or a NUL character (which a PostgreSQL text
column refuses) are refused with `PayloadRejected` (400) before anything is acknowledged
or stored, instead of failing later as a 500 or, worse, after the platform was told the
message was accepted.

orjson does the work; the json module only reads bodies with a run of 19 or more digits
(orjson would turn an integer beyond 64 bits into a float and so hide it) and, for
`surrogates="replace"`, text with escaped lone surrogates; bodies with an escaped NUL
(`\u0000`) have their strings checked once more.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

import orjson

from router.domain.errors import PayloadRejected

MAX_DEPTH = 1024  # orjson's own limit
INT_MIN, INT_MAX = -(2**63), 2**63 - 1  # what SQLite and PostgreSQL BIGINT hold
_LONG_NUMBER = re.compile(rb"\d{19}")
_NUL = b"\\u0000"  # JSON must escape a NUL in a string; a raw one is malformed
_UNSTORABLE = re.compile("[\ud800-\udfff\x00]")  # lone surrogates; NUL (PostgreSQL text)

Surrogates = Literal["reject", "replace"]


def loads(raw: bytes | str, *, surrogates: Surrogates = "reject") -> Any:
    """`raw` decoded, within the bounds above; PayloadRejected (400) otherwise.

    `surrogates="replace"` turns lone surrogates and NULs into U+FFFD instead of refusing
    them (for platforms, such as Telegram, that resend whatever is refused)."""
    body = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if _LONG_NUMBER.search(body) is None:
        try:
            value = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            message = str(exc)
            if "depth limit" in message or "recursion" in message:
                raise PayloadRejected(f"JSON nested deeper than {MAX_DEPTH} levels") from None
            if surrogates != "replace" or "surrogate" not in message:
                raise PayloadRejected(f"malformed JSON: {message}") from None
        else:
            if _small(value) and _NUL not in body:  # the usual case: orjson's checks do
                return value
    return _checked(_json_loads(body), surrogates)


def _json_loads(body: bytes) -> Any:
    try:
        return json.loads(body, parse_constant=_refuse_constant)
    except RecursionError:
        raise PayloadRejected(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise PayloadRejected(f"malformed JSON: {exc}") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _small(value: Any) -> bool:
    """True when orjson's value needs no further checks: no integer beyond INT_MAX
    (orjson reads unsigned 64-bit integers exactly)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, int) and item > INT_MAX:
            return False
    return True


def _checked(value: Any, surrogates: Surrogates) -> Any:
    """`value` with depth, integer range and lone surrogates checked (strings fixed in
    place when replacing)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    if isinstance(value, str):
        return _text(value, surrogates)
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise PayloadRejected(f"JSON nested deeper than {MAX_DEPTH} levels")
        if isinstance(item, dict):
            if any(_UNSTORABLE.search(key) for key in item):  # keys are str in JSON
                fixed = {_text(key, surrogates): child for key, child in item.items()}
                item.clear()
                item.update(fixed)  # in the order they came
            for key, child in item.items():
                if isinstance(child, str):
                    item[key] = _text(child, surrogates)
                else:
                    stack.append((_bounded(child), depth + 1))
        elif isinstance(item, list):
            for i, child in enumerate(item):
                if isinstance(child, str):
                    item[i] = _text(child, surrogates)
                else:
                    stack.append((_bounded(child), depth + 1))
        else:
            _bounded(item)
    return value


def _bounded(item: Any) -> Any:
    if isinstance(item, int) and not isinstance(item, bool) and not INT_MIN <= item <= INT_MAX:
        raise PayloadRejected("integer outside the signed 64-bit range")
    return item


def _text(text: str, surrogates: Surrogates) -> str:
    found = _UNSTORABLE.search(text)
    if found is None:
        return text
    if surrogates == "reject":
        if found.group() == "\x00":
            raise PayloadRejected("text with a NUL character (cannot be stored)")
        raise PayloadRejected("text with a lone surrogate (not valid Unicode)")
    return _UNSTORABLE.sub("\ufffd", text)


def check_int(value: int, where: str) -> int:
    """`value` if the store can hold it; PayloadRejected naming `where` otherwise."""
    if not INT_MIN <= value <= INT_MAX:
        raise PayloadRejected(f"{where}: integer outside the signed 64-bit range")
    return value
