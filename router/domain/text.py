"""Splitting long plain text for channels with a message size limit.

Telegram counts UTF-16 units, Slack counts characters after escaping; both want a long
reply cut where a reader would cut it. `cost` says what one character weighs.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# Preferred cut points, best first: paragraph, line, sentence end, word.
_BOUNDARIES = (re.compile(r"\n\s*\n"), re.compile(r"\n"),
               re.compile(r"(?<=[.!?…。])\s+"), re.compile(r"\s+"))


def _one(_: str) -> int:
    return 1


def split_text(text: str, limit: int, *, cost: Callable[[str], int] = _one) -> list[str]:
    """Split `text` into parts whose summed character `cost` is at most `limit`.

    Cuts at the last paragraph break that keeps a part at least a third full, else a
    line break, a sentence end, a space, and only as a last resort mid-word.
    """
    parts: list[str] = []
    rest = text.strip()
    while sum(map(cost, rest)) > limit:
        fit = _fit(rest, limit, cost)
        cut = _best_cut(rest[:fit], minimum=fit // 3) or fit
        head, rest = rest[:cut].rstrip(), rest[cut:].lstrip()
        if head:
            parts.append(head)
    if rest:
        parts.append(rest)
    return parts or [""]


def _fit(text: str, limit: int, cost: Callable[[str], int]) -> int:
    """The longest prefix (in characters) within `limit`; at least one character."""
    used = 0
    for i, ch in enumerate(text):
        used += cost(ch)
        if used > limit:
            return max(i, 1)
    return len(text)


def _best_cut(window: str, minimum: int) -> int:
    for pattern in _BOUNDARIES:
        ends = [m.end() if pattern.pattern.startswith("(?<=") else m.start()
                for m in pattern.finditer(window)]
        good = [e for e in ends if e >= minimum]
        if good:
            return good[-1]
    return 0
