"""A webhook body's JSON, read by the service's one bounded reader (router/web/jsonbody.py)."""

from __future__ import annotations

import re
from typing import Any

from router.web import jsonbody

LONG_NUMBER = re.compile(rb"\d{19}")


def loads(body: bytes) -> Any:
    """The update, with lone surrogates in its text replaced by U+FFFD (Telegram would
    resend an update it sees refused, and the text is otherwise fine); PayloadRejected
    for what could never be processed: bad JSON, nesting beyond 1,024 levels, integers
    beyond 64 bits (no chat or user id is that large)."""
    return jsonbody.loads(body, surrogates="replace")
