"""`inquiry-router try`: dry-run a message through the rules (and bots) without effects.

Shows the detected language, every rule in order with matched / not matched and the
condition that decided it, and the resulting actions with the replies rendered for the
channel. Nothing is stored and nothing is sent.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import asdict, is_dataclass
from datetime import UTC, datetime
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from router.commands._common import add_config_arg, print_problems
from router.domain.errors import ConfigError
from router.domain.model import (
    ContactView,
    ConversationView,
    Decision,
    DecisionContext,
    InboundMessage,
    Sender,
    Status,
)

CHANNELS = ("webchat", "email", "telegram", "slack", "loopback")
EVENTS = ("message", "conversation_opened", "conversation_idle", "sla_breached", "resolved")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("try", help="dry-run a message through the rules (no side effects)")
    add_config_arg(parser)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", help="the customer's message")
    source.add_argument("--batch", metavar="FILE",
                        help="one message per line ('-' for stdin); prints JSON lines")
    source.add_argument("--conversation", metavar="FILE",
                        help="a YAML file of timed customer messages: prints what the "
                             "customer would hear, turn by turn (docs/rules.md)")
    parser.add_argument("--channel", choices=CHANNELS, default="webchat")
    parser.add_argument("--from", dest="sender", default="",
                        help="sender: an email address, @username, or a user id")
    parser.add_argument("--name", default="", help="the contact's display name")
    parser.add_argument("--hint", default="", help="platform language hint, e.g. sv-SE")
    parser.add_argument("--at", help="local time in the business-hours timezone, "
                                     "e.g. 2026-12-24T20:00 (default: now)")
    parser.add_argument("--event", choices=EVENTS, default="message")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def _load(config: Any) -> Any:
    """The composed decide (rules + bots) from the router's wiring, or rules alone."""
    try:
        from router.wiring import build_decide
    except ImportError:
        from rules import compile_rules

        return _Only(compile_rules(config.source, queues=config.queue_names,
                                   agents=config.agent_names, teams=config.team_names))
    from router.configuration.local_secret import peek_secret

    # a dry run never makes data/csat.secret: it signs with the existing key or a throwaway
    return build_decide(config, csat_key=peek_secret(config.data_path(), "csat"))


class _Only:
    def __init__(self, ruleset: Any) -> None:
        self.ruleset, self.bots = ruleset, None


def _sender(raw: str, channel: str, hint: str, name: str) -> Sender:
    if "@" in raw and not raw.startswith("@"):
        return Sender(raw, name, email=raw, language_hint=hint)
    if raw.startswith("@"):
        return Sender(raw.lstrip("@"), name, username=raw.lstrip("@"), language_hint=hint)
    return Sender(raw or "try-user", name, language_hint=hint)


def _when(raw: str | None, ruleset: Any) -> datetime:
    if not raw:
        return datetime.now(UTC)
    moment = datetime.fromisoformat(raw)
    if moment.tzinfo is None:
        tz = ruleset.timezone if ruleset is not None else ZoneInfo("UTC")
        moment = moment.replace(tzinfo=tz)
    return moment


def _context(text: str, args: argparse.Namespace, ruleset: Any) -> DecisionContext:
    now = _when(args.at, ruleset)
    sender = _sender(args.sender, args.channel, args.hint, args.name)
    msg = InboundMessage(args.channel, "try", "try", sender, text, now)
    conv = ConversationView(0, args.channel, Status.BOT, message_count=1, is_new=True,
                            created_at=now)
    contact = ContactView(0, args.name or sender.username, email=sender.email)
    return DecisionContext(msg, conv, contact, now, event=args.event)


def explain(decide: Any, ctx: DecisionContext) -> dict[str, Any]:
    ruleset, bots = getattr(decide, "ruleset", None), getattr(decide, "bots", None)
    out: dict[str, Any] = {"text": ctx.message.text, "channel": ctx.message.channel,
                           "at": ctx.now.isoformat(), "event": ctx.event}
    decision = Decision()
    if ruleset is not None:
        explained = ruleset.explain(ctx)
        decision = explained.decision
        out.update(language=explained.detected, confidence=round(explained.confidence, 3),
                   rules_version=ruleset.version,
                   open=ruleset.is_open(ctx.now))
    if bots is not None:
        decision = bots.decide(ctx, decision)
        if hasattr(bots, "explain"):
            out["bots"] = _plain(bots.explain(ctx, decision.language or ""))
    out["final_language"] = decision.language
    out["trace"] = _plain(decision.trace)
    out["actions"] = [{"kind": a.kind, "value": _plain(a.value), "source": a.source}
                      for a in decision.actions]
    return out


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return _plain(asdict(value))
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _lines(path: str) -> Iterator[str]:
    stream: TextIO = sys.stdin if path == "-" else open(path, encoding="utf-8")  # noqa: SIM115
    with stream:
        for line in stream:
            if line.strip():
                yield line.rstrip("\n")


def run(args: argparse.Namespace) -> int:
    from router.config import load_config

    try:
        config = load_config(args.config)
        decide = _load(config)
    except ConfigError as exc:
        print_problems(exc)
        return 1
    ruleset = getattr(decide, "ruleset", None)
    if args.conversation:
        from router.commands.try_conversation import run_conversation

        return run_conversation(decide, args.conversation, as_json=args.json,
                                default_queue=config.settings.service.default_queue,
                                channels=CHANNELS)
    if args.batch:
        for text in _lines(args.batch):
            result = explain(decide, _context(text, args, ruleset))
            print(json.dumps(result, ensure_ascii=False), flush=True)
        return 0
    result = explain(decide, _context(args.text, args, ruleset))
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(render_text(result))
    return 0


def render_text(result: dict[str, Any]) -> str:
    lines = [f"message:  {result['text']!r} via {result['channel']} at {result['at']}"
             f" ({'open' if result.get('open', True) else 'closed'})"]
    if "language" in result:
        lines.append(f"language: {result['language']} (confidence {result['confidence']:.2f})"
                     f"; rules version {result['rules_version']}")
    lines.append("rules:")
    for entry in result["trace"]:
        if "rule" not in entry:
            lines.append(f"  · {json.dumps(entry, ensure_ascii=False)}")
            continue
        mark = "✓" if entry.get("matched") else "✗"
        lines.append(f"  {mark} {entry['rule']}: {entry.get('decided_by', '')}")
        for error in entry.get("errors", []):
            lines.append(f"      ! {error}")
    lines.append("actions:" if result["actions"] else "actions: none")
    for action in result["actions"]:
        value = action["value"]
        if isinstance(value, dict) and "text" in value and "reply_id" in value:
            lines.append(f"  reply {value['reply_id']} [{value['language']}] ({action['source']}):")
            lines.extend(f"      {line}" for line in value["text"].splitlines())
            for button in value.get("quick_replies", []):
                lines.append(f"      [{button['label']}] -> {button['payload']}")
        else:
            shown = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
            lines.append(f"  {action['kind']}: {shown} ({action['source']})")
    if "bots" in result:
        lines.append("bots: " + json.dumps(result["bots"], ensure_ascii=False))
    return "\n".join(lines)
