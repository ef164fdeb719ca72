"""Template output is escaped for each channel: a hostile contact name renders as typed."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules import escape
from tests.rules.helpers import build, ctx

NAME = "<b>&*_[x](y)"
CONFIG = """
languages: [sv, en]
default_language: en
replies:
  hello:
    en: "Hi {{ contact.name }}!\\n\\nWe got: {{ message.text }}"
    sv: "Hej {{ contact.name }}!"
    buttons:
      - {payload: human, label: {en: Talk to a person, sv: Prata med en människa}}
rules:
  - {name: greet, then: [{reply: hello}]}
"""


@pytest.fixture(scope="module")
def ruleset(tmp_path_factory: pytest.TempPathFactory):
    return build(tmp_path_factory.mktemp("escape"), CONFIG)


def render(ruleset, channel: str):
    decision = ruleset.decide(ctx("hello <script>", channel=channel,
                                  contact={"display_name": NAME}))
    return next(a.value for a in decision.actions if a.kind == "reply")


@pytest.mark.parametrize("channel", ["telegram", "telegram:support", "slack"])
def test_chat_channels_get_plain_text_they_escape_themselves(ruleset, channel):
    # Telegram and Slack escape at send time (they must for agents' replies too);
    # tests/test_escaping.py follows the text through each channel's formatter.
    reply = render(ruleset, channel)
    assert reply.text.startswith(f"Hi {NAME}!") and reply.html == ""


def test_email_plain_text_and_html(ruleset):
    reply = render(ruleset, "email")
    assert reply.text.startswith(f"Hi {NAME}!")
    assert "<p>Hi &lt;b&gt;&amp;*_[x](y)!</p>" in reply.html
    assert "&lt;script&gt;" in reply.html and "<script>" not in reply.html


@pytest.mark.parametrize("channel", ["webchat", "loopback"])
def test_plain_channels(ruleset, channel):
    reply = render(ruleset, channel)
    assert reply.text.startswith(f"Hi {NAME}!") and reply.html == ""


def test_quick_replies_follow_the_language(ruleset):
    decision = ruleset.decide(ctx("Hej, jag behöver hjälp med min beställning", channel="telegram"))
    reply = next(a.value for a in decision.actions if a.kind == "reply")
    assert reply.language == "sv"
    assert [(q.label, q.payload) for q in reply.quick_replies] == [
        ("Prata med en människa", "human")]


def test_sandbox_blocks_python_internals(tmp_path: Path):
    # `contact.fields.*` is free-form, so the load-time check lets this through; the
    # sandbox stops it at render time and the rule's other actions still run
    rs = build(tmp_path, """
        languages: [en]
        replies: {x: {en: "{{ contact.fields.__class__.__mro__ }}"}}
        rules: [{name: a, then: [{reply: x}]}]
        """.replace("\n        ", "\n"))
    decision = rs.decide(ctx("hi"))
    assert not [a for a in decision.actions if a.kind == "reply"]
    assert "errors" in decision.trace[0]


def test_escape_helpers_directly():
    assert escape.for_channel("x", "unknown") == ("x", "")
    assert escape.email_html("a\nb\n\nc") == "<p>a<br>\nb</p>\n<p>c</p>\n"


@pytest.mark.parametrize("text", ["Thanks! We answer within a day.", "  Hej!\n\nVälkommen  \n",
                                  "a < b & c > d", "Brace { alone } is fine"])
def test_templates_without_jinja_syntax_render_exactly_as_jinja_would(text: str):
    from rules.templates import ENV, Static, compile_template, render

    compiled = compile_template(text)
    assert isinstance(compiled, Static)
    assert render(compiled, {}) == str(ENV.from_string(text).render({})).strip()
