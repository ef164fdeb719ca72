"""Escaping, splitting at 4096, keyboards and the send pacer (pure, with a fake clock)."""

from __future__ import annotations

from channels.telegram.format import (
    MAX_TEXT,
    escape,
    keyboard,
    render_parts,
    split_text,
    utf16_len,
)
from channels.telegram.ratelimit import RateLimiter
from channels.telegram.settings import RateLimits
from router.domain.model import QuickReply


def test_escape_only_what_telegram_html_needs():
    assert escape('<b>Tom & "Jerry"</b>') == '&lt;b&gt;Tom &amp; "Jerry"&lt;/b&gt;'


def test_short_text_is_one_part():
    assert split_text("Hej!") == ["Hej!"]


def test_long_text_splits_on_paragraphs():
    paragraphs = [f"Stycke {i}. " + "ord " * 300 for i in range(8)]
    text = "\n\n".join(p.strip() for p in paragraphs)
    parts = split_text(text)
    assert len(parts) > 1 and all(utf16_len(p) <= MAX_TEXT for p in parts)
    assert all(p.startswith("Stycke") for p in parts)  # every cut at a paragraph start
    assert " ".join(" ".join(parts).split()) == " ".join(text.split())


def test_without_paragraphs_splits_on_sentences_then_words():
    text = " ".join(f"Mening nummer {i} är här." for i in range(400))
    parts = split_text(text, limit=500)
    assert all(p.endswith(".") for p in parts)
    words = "x" * 30 + " " + "y" * 30
    assert split_text(words, limit=40) == ["x" * 30, "y" * 30]
    assert split_text("z" * 100, limit=40) == ["z" * 40, "z" * 40, "z" * 20]


def test_limit_counts_utf16_units():
    text = "😀" * 3000  # 6000 UTF-16 units, 3000 code points
    parts = split_text(text)
    assert len(parts) == 2 and all(utf16_len(p) <= MAX_TEXT for p in parts)


def test_render_parts_escapes_each_part_after_splitting():
    parts = render_parts("a < b " * 300 + "\n\n" + "c & d " * 1000)
    assert parts[0] == ("a &lt; b " * 300).strip() and parts[1].startswith("c &amp; d")


def test_ready_html_is_sent_as_is_when_it_fits():
    assert render_parts("plain", "<b>rich</b>") == ["<b>rich</b>"]
    long_html = "<b>" + "x " * 3000 + "</b>"
    parts = render_parts("", long_html)
    assert len(parts) == 2 and "<b>" not in parts[0]  # fell back to escaped plain text


def test_keyboard_layout():
    csat = keyboard([QuickReply(str(i), f"csat:{i}") for i in range(1, 6)])
    assert len(csat.inline_keyboard) == 1 and len(csat.inline_keyboard[0]) == 5
    long = keyboard([QuickReply("Talk to a person", "handoff"), QuickReply("Billing", "b")])
    assert [len(row) for row in long.inline_keyboard] == [1, 1]
    assert keyboard([]) is None
    over = keyboard([QuickReply("x", "ä" * 40)])
    assert len(over.inline_keyboard[0][0].callback_data.encode()) <= 64


def test_rate_limiter_paces_per_chat_groups_and_globally():
    now = [100.0]
    limiter = RateLimiter(RateLimits(per_chat_per_second=1, per_group_per_minute=20,
                                     global_per_second=30), clock=lambda: now[0])
    assert limiter.reserve("42") == 0
    assert limiter.reserve("42") == 1.0  # second message to one chat: a second later
    assert 0 < limiter.reserve("43") <= 1 / 30 + 1e-9  # another chat: only the global pace
    assert max(limiter.reserve(str(c)) for c in range(28)) < 1.0  # 30 in the first second
    assert limiter.reserve("77") >= 1.0
    assert limiter.reserve("-100123") > 0
    assert limiter.reserve("-100123") >= 3.0  # groups: 20 per minute
