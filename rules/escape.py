"""Rendered replies for each channel: plain text, plus an HTML alternative for email.

Canned replies are plain text written by the admin, but templates insert values the
customer controls (their display name, their message). The rendered text stays plain
and each channel escapes it for its markup when sending, so `<b>&*_[x](y)` arrives on
every channel exactly as typed (tests/test_escaping.py checks the whole path).
"""

from __future__ import annotations

import html


def email_html(text: str) -> str:
    """The HTML alternative of a plain-text email body: escaped, paragraphs and breaks kept."""
    paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    body = "".join(
        "<p>" + html.escape(p, quote=True).replace("\n", "<br>\n") + "</p>\n" for p in paragraphs
    )
    return body or "<p></p>\n"


def for_channel(text: str, channel: str) -> tuple[str, str]:
    """(plain text, html alternative) of `text` for `channel`; html only for email.

    The plain text is what the customer must see, character for character. Chat channels
    escape it for their own markup when they send (Telegram HTML, Slack `&<>`), because
    they must do the same for agents' replies; the web chat shows it with textContent.
    Doing it once, at the channel, is what keeps a hostile contact name from being
    escaped twice or not at all.
    """
    return text, (email_html(text) if channel.split(":", 1)[0] == "email" else "")
