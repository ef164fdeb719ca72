"""Slack text markup both ways: escaping what we send, reading what people write.

Outbound text is plain (the same contract as the Telegram channel): `&`, `<` and `>` are
the only characters Slack's mrkdwn treats as control characters (`<` opens links and
mentions such as `<!channel>`), so escaping those three makes any text show literally.
Inbound text arrives with those entities and with `<...>` links and mentions, which we
turn back into what the person saw, because the rest of the router handles plain text.
"""

from __future__ import annotations

import re

from router.domain.text import split_text as split_plain

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_COST = {"&": 5, "<": 4, ">": 4}
_ANGLE = re.compile(r"<([^<>]*)>")


def escape(text: str) -> str:
    """Plain text as a mrkdwn string that Slack shows literally."""
    return text.translate(_ESCAPES)


def escaped_len(text: str) -> int:
    return sum(_COST.get(ch, 1) for ch in text)


def split_text(text: str, limit: int) -> list[str]:
    """Split plain text so that each part, once escaped, has at most `limit` characters."""
    return split_plain(text, limit, cost=lambda ch: _COST.get(ch, 1))


def to_plain(text: str, *, strip_user: str = "") -> str:
    """What a reader saw, from Slack's wire format.

    `<@U1|ann>` -> `@ann`, `<#C1|general>` -> `#general`, `<!here>` -> `@here`,
    `<https://x|label>` -> `label (https://x)`, `<mailto:a@b|a@b>` -> `a@b`, entities decoded.
    `strip_user` removes mentions of that user id (the app's own, in `@app help me`).
    """
    if strip_user:
        text = re.sub(rf"<@{re.escape(strip_user)}(\|[^>]*)?>\s*", "", text)
    text = _ANGLE.sub(_angle, text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


def _angle(match: re.Match[str]) -> str:
    inner = match.group(1)
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        return "@" + (label or target[1:])
    if target.startswith("#"):
        return "#" + (label or target[1:])
    if target.startswith("!"):
        name = target[1:].split("^", 1)[0]
        return "@" + (label or name) if name in ("here", "channel", "everyone") else (label or "")
    if target.startswith("mailto:"):
        return label or target.removeprefix("mailto:")
    if label and label != target:
        return f"{label} ({target})"
    return target
