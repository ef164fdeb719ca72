# ruff: noqa: E501 - a template reads better on one line
"""`business_hours` in reply templates: worked out lazily, read like a plain mapping."""

from __future__ import annotations

from pathlib import Path

from tests.rules.helpers import CLOSED, OPEN, build, ctx

CONFIG = """
languages: [en]
default_language: en
business_hours:
  timezone: Europe/Stockholm
  weekly: {mon-fri: "08:00-17:00"}
  holidays: ["2026-12-24"]
replies:
  hours:
    en: "{{ business_hours.open }}|{{ business_hours.next_opening_iso }}|{{ business_hours.timezone }}|{{ business_hours | length }}|{% for k in business_hours %}{{ k }},{% endfor %}"
  plain:
    en: "Thanks {{ contact.first_name }}"
rules:
  - {name: r, when: {text: {keywords: [hours]}}, then: [{reply: hours}]}
"""


def _hours_reply(tmp_path: Path, now) -> str:  # type: ignore[no-untyped-def]
    ruleset = build(tmp_path, CONFIG)
    return ruleset.render_reply("hours", language="en", channel="webchat",
                                ctx=ctx("hours", now=now)).text


def test_open_now(tmp_path: Path):
    assert _hours_reply(tmp_path, OPEN) == (
        "True|2026-03-03T09:00:00+00:00|Europe/Stockholm|4|open,next_opening,next_opening_iso,timezone,")


def test_closed_names_the_next_opening(tmp_path: Path):
    text = _hours_reply(tmp_path, CLOSED)
    assert text.startswith("False|2026-12-25T08:00:00+01:00|Europe/Stockholm|4|")


def test_a_reply_without_hours_still_renders(tmp_path: Path):
    ruleset = build(tmp_path, CONFIG)
    assert ruleset.render_reply("plain", language="en", channel="webchat",
                                ctx=ctx("x")).text == "Thanks Anna"
