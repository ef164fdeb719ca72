"""Escaping rendered text for each channel's markup.

Canned replies are plain text written by the admin, but templates insert values the
customer controls (their display name, their message). Escaping the *whole* rendered
text for the target channel means neither can inject markup, mentions or links:
`<b>&*_[x](y)` arrives on every channel exactly as typed.
"""

from __future__ import annotations

import html
from collections.abc import Callable

_ZWSP = "\u200b"
# Slack mrkdwn has no backslash escape: &, < and > must be entities (they start links
# and mentions such as <@U123> or <!channel>), and a zero-width space on both sides of a
# formatting character stops it from opening or closing bold/italic/strike/code.
_SLACK = str.maketrans({
    "&": "&amp;", "<": "&lt;", ">": "&gt;",
    "*": f"{_ZWSP}*{_ZWSP}", "_": f"{_ZWSP}_{_ZWSP}", "~": f"{_ZWSP}~{_ZWSP}",
    "`": f"{_ZWSP}`{_ZWSP}",
})


def telegram_html(text: str) -> str:
    """Text for Telegram's `parse_mode=HTML`: only &, < and > are special there."""
    return html.escape(text, quote=False)


def slack_mrkdwn(text: str) -> str:
    """Text for a Slack `mrkdwn` field, shown literally."""
    return text.translate(_SLACK)


def email_html(text: str) -> str:
    """The HTML alternative of a plain-text email body: escaped, paragraphs and breaks kept."""
    paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    body = "".join(
        "<p>" + html.escape(p, quote=True).replace("\n", "<br>\n") + "</p>\n" for p in paragraphs
    )
    return body or "<p></p>\n"


def plain(text: str) -> str:
    """Web chat and loopback show text with `textContent`: nothing to escape."""
    return text


_TEXT_ESCAPERS: dict[str, Callable[[str], str]] = {
    "telegram": telegram_html,
    "slack": slack_mrkdwn,
    "email": plain,
    "webchat": plain,
    "loopback": plain,
}


def for_channel(text: str, channel: str) -> tuple[str, str]:
    """(text, html alternative) of `text` for `channel`; the html part only for email.

    Unknown channels get plain text: it is the only form that is safe everywhere.
    """
    escape = _TEXT_ESCAPERS.get(channel, plain)
    return escape(text), (email_html(text) if channel == "email" else "")
