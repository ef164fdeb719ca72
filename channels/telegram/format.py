"""Outbound formatting for Telegram: HTML escaping, the 4096-character limit, keyboards.

Contract with the rules engine and agents: `OutboundMessage.text` is plain text and is
escaped here; `OutboundMessage.html`, when non-empty, is ready-to-send Telegram HTML.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from router.domain.model import QuickReply
from router.domain.text import split_text as split_plain

MAX_TEXT = 4096  # Telegram's limit, counted after entity parsing, in UTF-16 code units
MAX_CALLBACK_DATA = 64  # bytes
_TAG = re.compile(r"<[^>]*>")
# Preferred cut points, best first: paragraph, line, sentence end, word.


def escape(text: str) -> str:
    """Plain text for `parse_mode=HTML`: only &, < and > are special to Telegram."""
    return html.escape(text, quote=False)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def visible_len(html_text: str) -> int:
    """Length Telegram counts for an HTML message: tags removed, entities decoded."""
    return utf16_len(html.unescape(_TAG.sub("", html_text)))


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split plain text into parts of at most `limit` UTF-16 units (Telegram's count)."""
    return split_plain(text, limit, cost=lambda ch: 2 if ord(ch) > 0xFFFF else 1)


def render_parts(text: str, html_text: str = "", limit: int = MAX_TEXT) -> list[str]:
    """The HTML parts to send, in order.

    Ready HTML is sent as is when it fits; a longer one cannot be cut safely (a tag could
    span the cut), so the plain text is split and escaped instead.
    """
    if html_text and visible_len(html_text) <= limit:
        return [html_text]
    return [escape(part) for part in split_text(text or html.unescape(_TAG.sub("", html_text)),
                                                 limit)]


def keyboard(quick_replies: Sequence[QuickReply]) -> InlineKeyboardMarkup | None:
    """Quick replies as an inline keyboard: short labels (CSAT 1-5) on one row."""
    if not quick_replies:
        return None
    buttons = [InlineKeyboardButton(text=q.label, callback_data=_callback_data(q.payload))
               for q in quick_replies]
    if len(buttons) <= 8 and all(len(q.label) <= 4 for q in quick_replies):
        return InlineKeyboardMarkup(inline_keyboard=[buttons])
    return InlineKeyboardMarkup(inline_keyboard=[[b] for b in buttons])


def _callback_data(payload: str) -> str:
    """Telegram rejects callback_data over 64 bytes; cut at a character boundary."""
    raw = (payload or "-").encode()
    if len(raw) <= MAX_CALLBACK_DATA:
        return payload or "-"
    return raw[:MAX_CALLBACK_DATA].decode(errors="ignore")
