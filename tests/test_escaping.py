"""A hostile contact name renders safely on every channel, from template to the wire.

The rules render plain text; each channel escapes it for its own markup when sending.
This follows one reply through both halves for every channel.
"""

from __future__ import annotations

import html

import pytest

from channels.slack.markup import escape as slack_escape
from channels.telegram.format import render_parts
from tests.rules.helpers import build, ctx

NAME = "<b>&*_[x](y)"
CONFIG = """
languages: [en]
replies:
  hello: {en: "Hi {{ contact.name }}, about {{ message.text }}"}
rules:
  - {name: greet, then: [{reply: hello}]}
"""


@pytest.fixture(scope="module")
def ruleset(tmp_path_factory: pytest.TempPathFactory):
    return build(tmp_path_factory.mktemp("escaping"), CONFIG)


def reply_for(ruleset, channel: str):
    decision = ruleset.decide(ctx("<script>x</script>", channel=channel,
                                  contact={"display_name": NAME}))
    return next(a.value for a in decision.actions if a.kind == "reply")


def test_telegram_html_shows_the_name_as_typed(ruleset):
    reply = reply_for(ruleset, "telegram:support")
    (wire,) = render_parts(reply.text, reply.html)
    assert "<b>" not in wire and "<script>" not in wire
    assert html.unescape(wire) == f"Hi {NAME}, about <script>x</script>"


def test_slack_mrkdwn_shows_the_name_as_typed(ruleset):
    wire = slack_escape(reply_for(ruleset, "slack").text)
    assert "<" not in wire and ">" not in wire
    assert html.unescape(wire) == f"Hi {NAME}, about <script>x</script>"


def test_email_text_is_literal_and_html_is_escaped(ruleset):
    reply = reply_for(ruleset, "email")
    assert reply.text == f"Hi {NAME}, about <script>x</script>"
    assert "<b>" not in reply.html.replace("<p>", "") and "&lt;b&gt;&amp;*_[x](y)" in reply.html


@pytest.mark.parametrize("channel", ["webchat", "loopback"])
def test_text_channels_carry_the_literal_text(ruleset, channel):
    # the web chat renders with textContent (tests/web checks no element is created)
    assert reply_for(ruleset, channel).text == f"Hi {NAME}, about <script>x</script>"
