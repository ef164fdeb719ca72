"""Builders shared by the rules tests: a rule set from YAML text, a context per message."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from router.configuration import yamlsrc
from router.domain.model import (
    Attachment,
    ContactView,
    ConversationView,
    Decision,
    DecisionContext,
    InboundMessage,
    Sender,
    Status,
)
from rules import RuleSet, compile_rules

QUEUES = ("billing", "support", "sales", "general")
AGENTS = ("alice", "bob")
TEAMS = ("nordic",)
# A Tuesday, 10:00 in Stockholm: open.
OPEN = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
# Christmas Eve (a holiday in the test schedules), 20:00 in Stockholm: closed.
CLOSED = datetime(2026, 12, 24, 19, 0, tzinfo=UTC)


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def build(tmp_path: Path, text: str) -> RuleSet:
    source = yamlsrc.load(write(tmp_path, text))
    return compile_rules(source, queues=QUEUES, agents=AGENTS, teams=TEAMS)


def ctx(text: str = "", *, channel: str = "webchat", event: str = "message",
        now: datetime = OPEN, sender: Sender | None = None,
        attachments: tuple[Attachment, ...] = (), contact: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None, **conversation: Any) -> DecisionContext:
    msg = InboundMessage(channel, "m1", "t1", sender or Sender("u1"), text, now,
                         attachments=attachments, metadata=metadata or {})
    conv_args: dict[str, Any] = {"status": Status.BOT, "message_count": 2}
    conv_args.update(conversation)
    conv = ConversationView(1, channel, **conv_args)
    person = ContactView(1, **({"display_name": "Anna Berg"} | (contact or {})))
    return DecisionContext(msg, conv, person, now, event)


def summary(decision: Decision) -> set[tuple[str, Any]]:
    """(kind, value) of every action; replies by id, handoffs by queue."""
    out: set[tuple[str, Any]] = set()
    for action in decision.actions:
        value = action.value
        if action.kind == "reply":
            value = value.reply_id
        elif action.kind == "handoff":
            value = value["queue"]
        elif action.kind == "webhook":
            value = value["url"]
        elif isinstance(value, dict | list):
            value = str(value)
        out.add((action.kind, value))
    return out
