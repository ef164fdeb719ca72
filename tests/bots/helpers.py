"""Building bots and decision contexts for tests without a running service."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bots import Bots, compile_bots
from router.configuration import yamlsrc
from router.domain.model import (
    ContactView,
    ConversationView,
    DecisionContext,
    InboundKind,
    InboundMessage,
    Sender,
    Status,
)

ROOT = Path(__file__).resolve().parents[2]
FAQ_FILE = ROOT / "config.d" / "faq.yaml"
NOW = datetime(2026, 3, 25, 10, 0, tzinfo=UTC)  # a Wednesday, open


def make_bots(tmp_path: Path, extra: str = "", *, with_faq: bool = True, ruleset: Any = None,
              env: dict[str, str] | None = None) -> Bots:
    path = tmp_path / "bots-config.yaml"
    text = textwrap.dedent(extra)
    if with_faq:
        text += f"\ninclude: ['{FAQ_FILE}']\n"
    path.write_text(text or "{}\n", encoding="utf-8")
    source = yamlsrc.load(path, env or {})
    return compile_bots(source, ruleset=ruleset, default_queue="general")


def ctx(text: str = "hello", *, status: Status = Status.BOT, metadata: dict[str, Any] | None = None,
        now: datetime = NOW, event: str = "message", bot_turns: int = 0, language: str = "",
        channel: str = "loopback", callback: str = "", conv_id: int = 7,
        contact_fields: dict[str, Any] | None = None) -> DecisionContext:
    kind = InboundKind.CALLBACK if callback else InboundKind.MESSAGE
    msg = InboundMessage(channel=channel, external_id="m1", thread_key="t1",
                         sender=Sender("u1", "Ulla Test"), text=text, received_at=now, kind=kind,
                         callback_data=callback)
    conv = ConversationView(id=conv_id, channel=channel, status=status, language=language,
                            bot_turns=bot_turns, metadata=metadata or {})
    return DecisionContext(message=msg, conversation=conv,
                           contact=ContactView(1, "Ulla Test", fields=contact_fields or {}),
                           now=now, event=event)


def kinds(decision: Any) -> list[str]:
    return [a.kind for a in decision.actions]


def replies(decision: Any) -> list[Any]:
    return [a.value for a in decision.actions if a.kind == "reply"]


def meta(decision: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for a in decision.actions:
        if a.kind == "meta":
            out.update(a.value)
    return out
