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


def test_closed_hours_values_from_the_minute_cache_are_the_ones_worked_out():
    """`business_hours` while closed comes from a cache keyed by the local minute: over
    the week of each DST change (with a holiday), every 7 min 13 s and again 29 s later
    in the same minute, in three languages, every value equals the one worked out anew."""
    from datetime import UTC, datetime, timedelta

    from router.domain.hours import parse_business_hours
    from rules.replies import _CLOSED, _Hours, _hours_values

    schedule = parse_business_hours({
        "timezone": "Europe/Stockholm", "weekly": {"mon-fri": "08:00-17:00", "sat": "10:00-14:00"},
        "holidays": ["2026-10-26"]})
    _CLOSED.clear()
    checked = closed = 0
    for start in (datetime(2026, 3, 24, tzinfo=UTC), datetime(2026, 10, 21, tzinfo=UTC)):
        t = start
        while t < start + timedelta(days=8):
            for now in (t, t + timedelta(seconds=29)):
                for language in ("sv", "fi", "en"):
                    got = dict(_Hours(schedule, now, language))
                    worked_out = _hours_values(schedule, now, language, schedule.is_open(now))
                    assert got == worked_out, (now, language)
                    checked += 1
                    closed += not got["open"]
            t += timedelta(minutes=7, seconds=13)
    assert closed > checked / 2 and _CLOSED  # the cache was really used
