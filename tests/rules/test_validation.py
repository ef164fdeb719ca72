"""Every kind of validation error: its message, its hint and its file:line:column."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from router.domain.errors import Problem, RuleError
from tests.rules.helpers import build, write

HEAD = """\
languages: [sv, fi, nb, uk, en]
default_language: en
replies:
  ack: {en: "Thanks", sv: "Tack"}
"""


def problems(tmp_path: Path, body: str) -> tuple[list[Problem], str]:
    text = HEAD + textwrap.dedent(body)
    with pytest.raises(RuleError) as info:
        build(tmp_path, text)
    return info.value.problems, text


def line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in config")


def only(found: list[Problem]) -> Problem:
    assert len(found) == 1, [str(p) for p in found]
    return found[0]


@pytest.mark.parametrize(("body", "needle", "message", "hint"), [
    ("rules:\n  - name: a\n    wehn: {channel: email}\n", "wehn", "unknown key 'wehn'",
     "did you mean 'when'?"),
    ("rules:\n  - name: a\n    when: {chanel: email}\n", "chanel", "unknown condition 'chanel'",
     "did you mean 'channel'?"),
    ("rules:\n  - name: a\n    then: [{rout: billing}]\n", "rout:", "unknown action 'rout'",
     "did you mean 'route'?"),
    ("rules:\n  - name: a\n    then: [{reply: greting}]\n", "greting", "unknown reply 'greting'",
     "define it under replies:"),
    ("rules:\n  - name: a\n    then: [{route: biling}]\n", "biling", "unknown queue 'biling'",
     "did you mean 'billing'?"),
    ("rules:\n  - name: a\n    then: [{assign: carol}]\n", "carol",
     "unknown agent or team 'carol'", "define it under agents: or teams:"),
    ("rules:\n  - name: a\n    when: {conversation: {queue: salez}}\n", "salez",
     "unknown queue 'salez'", "did you mean 'sales'?"),
    ("rules:\n  - name: a\n    when: {text: {regex: '(unclosed'}}\n", "unclosed",
     "invalid regex (RE2 syntax): missing ): (unclosed", "RE2 has no lookaround"),
    ("rules:\n  - name: a\n    when: {text: {regex: '(?<=a)b'}}\n", "(?<=a)b",
     "invalid regex (RE2 syntax): invalid perl operator: (?<=", "RE2 has no lookaround"),
    ("rules:\n  - name: a\n    when: {text: {regex: 'a\\bb'}}\n", "regex",
     "\\b is only supported at the start or end", ""),
    ("rules:\n  - name: a\n    then: [{tag: x}]\n  - {name: a, then: [{tag: y}]}\n",
     "tag: y", "duplicate rule name 'a'", "first defined at"),
    ("rules:\n  - name: a\n    then: [{note: '{{ contact.name '}]\n", "note:",
     "template error on its line 1", "templates get:"),
    ("rules:\n  - name: a\n    then: [{note: '{{ customer.name }}'}]\n", "note:",
     "unknown variable 'customer'", "templates get:"),
    ("rules:\n  - name: a\n    then: [{note: '{{ contact.frist_name }}'}]\n", "note:",
     "unknown variable 'contact.frist_name' (contact has:", ""),
    ("rules:\n  - name: a\n    on: {conversation_idle: 30 minutes}\n", "30 minutes",
     "'30 minutes' is not a duration", ""),
    ("rules:\n  - name: a\n    on: message_received\n", "message_received",
     "unknown event 'message_received'", ""),
    ("rules:\n  - name: a\n    then: [{priority: asap}]\n", "asap",
     "rules.0.then.0.priority: Input should be 'low', 'normal', 'high' or 'urgent'", ""),
    ("rules:\n  - name: a\n    when: {language: de}\n", "language: de",
     "unknown language 'de'", "define it under languages:"),
    ("rules:\n  - name: a\n    when: {text: {keywords: []}}\n", "keywords",
     "an empty keyword list never matches", ""),
    ("rules:\n  - name: a\n    when: {text: {keywords: [x], regex: y}}\n", "regex: y",
     "give exactly one of 'keywords' or 'regex'", ""),
])
def test_rule_errors(tmp_path: Path, body: str, needle: str, message: str, hint: str):
    found, text = problems(tmp_path, body)
    problem = only(found)
    assert message in problem.message
    assert hint in problem.hint
    assert problem.line == line_of(text, needle)
    assert problem.file.endswith("config.yaml") and problem.column >= 1


@pytest.mark.parametrize(("body", "needle", "message"), [
    ("replies:\n  bye: {sv: Hej då}\n", "bye:", "reply 'bye' has no text in the default "
                                                "language 'en'"),
    ("replies:\n  bye: {en: Bye, de: Tschüss}\n", "Tschüss", "unknown language 'de'"),
    ("replies:\n  bye: {en: '{% if %}'}\n", "bye:", "template error"),
    ("replies:\n  bye: {en: '{{ agent.email }}'}\n", "bye:", "unknown variable 'agent.email'"),
])
def test_reply_errors(tmp_path: Path, body: str, needle: str, message: str):
    text = textwrap.dedent(HEAD.replace("replies:\n  ack: {en: \"Thanks\", sv: \"Tack\"}\n", "")
                           + body)
    with pytest.raises(RuleError) as info:
        build(tmp_path, text)
    problem = only(info.value.problems)
    assert message in problem.message
    assert problem.line == line_of(text, needle)


@pytest.mark.parametrize(("body", "needle", "message"), [
    ("business_hours: {timezone: Mars/Olympus}\n", "Mars", "unknown timezone 'Mars/Olympus'"),
    ("business_hours:\n  weekly: {mon-fri: '9-17'}\n", "weekly",
     "'9-17' is not a time range"),
    ("business_hours:\n  weekly: {mon-fry: '09:00-17:00'}\n", "weekly",
     "'mon-fry' is not a day or day range"),
    ("default_language: xx\n", "default_language", "unknown language 'xx'"),
])
def test_settings_errors(tmp_path: Path, body: str, needle: str, message: str):
    text = "languages: [sv, en]\n" + body
    with pytest.raises(RuleError) as info:
        build(tmp_path, text)
    problem = only(info.value.problems)
    assert message in problem.message
    assert problem.line == line_of(text, needle)


def test_undetectable_language(tmp_path: Path):
    with pytest.raises(RuleError) as info:
        build(tmp_path, "languages: [sv, qq]\n")
    problem = only(info.value.problems)
    assert problem.message == "language 'qq' cannot be detected" and problem.line == 1


def test_all_problems_are_reported_at_once(tmp_path: Path):
    found, _ = problems(tmp_path, """\
        rules:
          - name: a
            when: {chanel: email}
            then: [{route: nowhere}, {reply: nothing}]
          - name: b
            when: {text: {regex: '('}}
            then: [{assign: nobody}]
        """)
    assert len(found) == 5
    assert [p.line for p in found] == sorted(p.line for p in found)


def test_errors_point_into_included_files(tmp_path: Path):
    (tmp_path / "conf.d").mkdir()
    write(tmp_path, "rules:\n  - name: ok\n    then: [{tag: x}]\n  - name: bad\n"
                    "    then: [{route: nowhere}]\n", "conf.d/rules.yaml")
    with pytest.raises(RuleError) as info:
        build(tmp_path, "languages: [en]\ninclude: ['conf.d/*.yaml']\n")
    problem = only(info.value.problems)
    assert problem.file.endswith("conf.d/rules.yaml") and problem.line == 5
    assert "unknown queue 'nowhere'" in str(problem)


def test_bare_on_key_is_the_event_not_a_boolean(tmp_path: Path):
    # YAML 1.1 reads `on:` as true; the loader still understands it
    rs = build(tmp_path, "rules:\n  - name: a\n    on: resolved\n    then: [{tag: x}]\n")
    assert rs.rules[0].events == frozenset({"resolved"})


def test_shipped_example_config_compiles():
    from router.configuration import yamlsrc
    from rules import compile_rules

    root = Path(__file__).resolve().parents[2]
    source = yamlsrc.load(root / "config.yaml")
    rs = compile_rules(source, queues=source.data["queues"], agents=source.data["agents"],
                       teams=source.data.get("teams") or {})
    assert rs.languages == ("sv", "fi", "nb", "uk", "en") and rs.default_language == "en"
    assert {"welcome", "away", "billing"} <= set(rs.reply_ids)
