"""Quote stripping on raw sample mails from the major clients, languages and charsets.

Each samples/NAME.eml has samples/NAME.txt with the visible text a human would call "the
new part" of that mail. Compared after collapsing whitespace (line wrapping differs).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mailparser_reply import EmailReplyParser

from channels.email.parse import parse_email
from channels.email.quotes import split_reply

SAMPLES = sorted((Path(__file__).parent / "samples").glob("*.eml"))


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _expected(eml: Path) -> str:
    return eml.with_suffix(".txt").read_text(encoding="utf-8")


def test_there_are_at_least_30_samples() -> None:
    assert len(SAMPLES) >= 30


@pytest.mark.parametrize("eml", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_visible_text_matches_expected(eml: Path) -> None:
    parsed = parse_email(eml.read_bytes())
    assert _norm(parsed.visible_text) == _norm(_expected(eml))
    # the full original stays available: the visible text is part of it
    assert parsed.text.strip()


def test_accuracy_report(capsys: pytest.CaptureFixture[str]) -> None:
    """The figure in docs/email.md: ours vs mail-parser-reply alone on the same bodies."""
    ours = baseline = 0
    for eml in SAMPLES:
        parsed = parse_email(eml.read_bytes())
        expected = _norm(_expected(eml))
        ours += _norm(parsed.visible_text) == expected
        reply = EmailReplyParser(languages=["en", "de", "sv", "da"]).parse_reply(parsed.text) or ""
        baseline += _norm(reply) == expected
    with capsys.disabled():
        print(f"\nquote stripping: ours {ours}/{len(SAMPLES)}, mail-parser-reply {baseline}/{len(SAMPLES)}")
    assert ours == len(SAMPLES)


def test_bottom_posting_keeps_text_under_the_quote() -> None:
    text = "On Tue, Mar 3, 2026 at 10:15 AM Support <s@example.com> wrote:\n> question?\n\nmy answer\n"
    assert split_reply(text).visible == "my answer"


def test_everything_quoted_falls_back_to_the_whole_text() -> None:
    text = "> only a quote\n> nothing new"
    assert split_reply(text).visible == "only a quote\nnothing new"


def test_thanks_alone_is_not_a_signature() -> None:
    assert split_reply("Thanks!").visible == "Thanks!"
    assert split_reply("Hello\n\nThanks,\nAnna").visible == "Hello"


def test_quoted_history_and_signature_are_kept_apart() -> None:
    text = "New text\n\n-- \nAnna\n\nOn 3 Mar 2026, at 10:15, S <s@example.com> wrote:\n\n> old\n"
    split = split_reply(text)
    assert split.visible == "New text"
    assert "old" in split.quoted
    assert "Anna" in split.signature


def test_a_sentence_ending_in_wrote_is_not_a_quote_header() -> None:
    text = "My colleague wrote:\nplease call me back"
    assert _norm(split_reply(text).visible) == "My colleague wrote: please call me back"
