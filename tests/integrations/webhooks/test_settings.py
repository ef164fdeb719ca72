"""`webhooks:` in config.yaml: mistakes at file:line, secrets kept out of messages; the
event mapping and the signature scheme on their own."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from router.cli import main
from router.config import load_config
from router.domain.errors import ConfigError
from router.domain.model import Event
from router.engine.integrations.webhooks import events, signing

SECRET = "s3cr3t-value-not-to-print-0123"
BAD = f"""\
webhooks:
  crm:
    url: http://example.com/hook
    secret: "{SECRET}"
    events: [conversation.opened, conversation.open]
    timeout: 0s
    retries: 3
  Bad Name:
    url: https://hooks.example.com/x
    secret: short
    events: []
"""


def test_mistakes_are_reported_at_their_place(tmp_path: Path, capsys):
    path = tmp_path / "config.yaml"
    path.write_text(BAD, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    lines = [str(p) for p in caught.value.problems]
    assert main(["check", "-c", str(path)]) == 1
    printed = capsys.readouterr().err
    expected = [
        "config.yaml:3:5: webhooks.crm.url: url must use https://",
        "config.yaml:5:35: webhooks.crm.events.1: unknown event 'conversation.open'; "
        "did you mean 'conversation.opened'?",
        "config.yaml:6:5: webhooks.crm.timeout: timeout must be longer than 0s",
        "config.yaml:7:5: unknown key 'retries'",
        "config.yaml:8:3: webhooks.Bad Name: endpoint name 'Bad Name'",
        "config.yaml:10:5: webhooks.Bad Name.secret: secret must be at least 16 characters",
        "config.yaml:11:5: webhooks.Bad Name.events: List should have at least 1 item",
    ]
    for want in expected:
        assert any(line.startswith(str(tmp_path / want)) or want in line for line in lines), want
        assert want.split(": ", 1)[1] in printed
    assert len(lines) == len(expected)
    assert SECRET not in printed and "short" not in printed


def test_the_secret_comes_from_the_environment_and_is_redacted(tmp_path: Path):
    path = tmp_path / "config.yaml"
    path.write_text('webhooks:\n  crm:\n    url: https://hooks.example.com/x\n'
                    '    secret: ${HOOK_SECRET}\n    events: ["*"]\n', encoding="utf-8")
    config = load_config(path, env={"HOOK_SECRET": SECRET})
    endpoint = config.settings.webhooks["crm"]
    assert endpoint.secret == SECRET and endpoint.wants("sla.breached")
    assert SECRET in config.secrets()  # what the log filter masks


def _event(kind: str, conversation: int | None = 1, **data: object) -> Event:
    return Event(0, kind, datetime(2026, 3, 2, tzinfo=UTC), conversation, "agent:anna", data)


def test_only_what_is_an_event_outside_becomes_one():
    assert events.from_event(_event("status_changed", **{"from": "bot", "to": "queued"})) is None
    assert events.from_event(_event("status_changed", **{"from": "assigned", "to": "resolved",
                                                         "reason": "resolve"})) == (
        "conversation.resolved", {"previous_status": "assigned", "reason": "resolve"})
    assert events.from_event(_event("transferred", from_agent="", to_agent="", to_queue="b")) is None
    assert events.from_event(_event("transferred", from_agent="anna", to_agent="bo",
                                    to_queue="b")) == (
        "conversation.assigned", {"agent": "bo", "queue": "b", "reason": "transfer",
                                  "previous_agent": "anna"})
    merge = {"from": 4, "into": 2}
    assert events.from_event(_event("contact_merged", 7, **merge)) is None  # per conversation
    assert events.from_event(_event("contact_merged", None, **merge)) == (
        "contact.merged", {"merged_contact": {"id": 4}})
    assert events.merged_into(_event("contact_merged", None, **merge)) == 2
    for kind in ("rules_applied", "note_added", "agent_replied", "resolved", "csat_comment"):
        assert kind not in events.KINDS and events.from_event(_event(kind)) is None


def test_signatures_verify_only_with_the_secret_the_body_and_a_fresh_time():
    body = b'{"id":"k1","event":"conversation.opened"}'
    headers = signing.headers(SECRET, body, now=1_800_000_000)
    assert headers[signing.SIGNATURE].startswith("v1=")
    assert signing.verify(SECRET, headers, body, now=1_800_000_100)
    assert not signing.verify(SECRET + "x", headers, body, now=1_800_000_100)
    assert not signing.verify(SECRET, headers, body + b" ", now=1_800_000_100)
    assert not signing.verify(SECRET, headers, body, now=1_800_000_000 + 301)  # replayed late
    rotated = {**headers, signing.SIGNATURE: "v0=abc, " + headers[signing.SIGNATURE]}
    assert signing.verify(SECRET, rotated, body, now=1_800_000_000)
