"""Escaping, splitting and reading Slack markup."""

from __future__ import annotations

from channels.slack.markup import escape, escaped_len, split_text, to_plain


def test_escape_makes_control_characters_literal():
    assert escape("a & b <!channel> <@U1> > c") == "a &amp; b &lt;!channel&gt; &lt;@U1&gt; &gt; c"
    assert to_plain(escape("a & b <!channel> > c")) == "a & b <!channel> > c"


def test_split_keeps_every_escaped_part_under_the_limit_and_prefers_paragraphs():
    text = ("First paragraph & more. " * 20).strip() + "\n\n" + ("<second> " * 60).strip()
    parts = split_text(text, 300)
    assert len(parts) > 2
    assert all(escaped_len(p) <= 300 for p in parts)
    assert parts[0].endswith("more.") and " ".join(parts).split() == text.split()
    assert split_text("short", 300) == ["short"]
    assert all(len(p) <= 10 for p in split_text("x" * 35, 10))


def test_to_plain_reads_links_mentions_and_entities():
    assert to_plain("<@UBOT|router> hi <@U2|ann> in <#C1|general> <!here>",
                    strip_user="UBOT") == "hi @ann in #general @here"
    assert to_plain("<https://a.example/x|docs> <https://b.example> <mailto:a@b.c|a@b.c>") == \
        "docs (https://a.example/x) https://b.example a@b.c"
