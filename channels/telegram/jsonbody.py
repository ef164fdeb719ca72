"""A webhook body's JSON, decoded as the json module would, mostly by orjson."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

LONG_NUMBER = re.compile(rb"\d{19}")


def loads(body: bytes) -> Any:
    """`json.loads(body)`, mostly through orjson (about 5x faster on an update).

    orjson decodes valid JSON to the same values as json.loads, except integers outside
    64 bits (it gives a float): a body with a run of 19 or more digits anywhere (also
    inside a string; rare) goes to json.loads, and so does whatever orjson refuses (NaN,
    lone surrogates, a BOM, invalid JSON), which then gives json.loads's own result or
    error."""
    if LONG_NUMBER.search(body) is None:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    return json.loads(body)
