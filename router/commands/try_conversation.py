"""`inquiry-router try --conversation FILE`: what the customer would hear, turn by turn.

A single `try` shows one decision; a customer hears a conversation: the welcome or away
text of its first message, what the bot answers, what it says once a person has it, the
replies of several rules composed into one. This replays timed customer messages through
the real pipeline (rules, bots, composition, the conversation's state between messages)
on a throwaway SQLite file and prints what would go out after each one. Nothing is sent
and the service's own database is never touched.

The file (YAML):

    channel: webchat          # optional (default webchat)
    from: ulla@example.se     # optional sender; `hint: sv` for a platform language hint
    messages:                 # times are local in the business-hours timezone
      - {at: "2026-12-05T21:10", text: "Hej! Var är min faktura?"}
      - {after: 2m, text: "Jag vill prata med en människa"}
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from router.configuration import yamlsrc
from router.configuration.durations import parse_duration
from router.domain.errors import ConfigError
from router.domain.model import InboundMessage, OutboxStatus, Sender

DEFAULT_GAP = timedelta(minutes=1)  # between messages with neither `at` nor `after`


class ConversationFileError(ValueError):
    """A conversation file that cannot be replayed; the message names file and item."""


@dataclass(frozen=True, slots=True)
class Step:
    at: datetime
    text: str


@dataclass(frozen=True, slots=True)
class Script:
    channel: str
    sender: Sender
    steps: list[Step]


def load_script(path: str, *, timezone: ZoneInfo, channels: tuple[str, ...],
                now: datetime | None = None) -> Script:
    """Parse and check a conversation file; every problem names the file and message."""
    try:
        data = yamlsrc.load_data(path)  # the same limits as the config (alias bombs, depth)
    except ConfigError as exc:
        problem = exc.problems[0]
        if not problem.line:
            raise ConversationFileError(f"{path}: cannot read: {problem.message}") from exc
        raise ConversationFileError(f"{path}:{problem.line}: not valid YAML "
                                    f"({problem.message.removeprefix('YAML ')})") from exc
    if isinstance(data, list):
        data = {"messages": data}
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        raise ConversationFileError(f"{path}: expected `messages:` with a list of "
                                    "{at|after, text} items")
    channel = str(data.get("channel") or "webchat")
    if channel not in channels:
        raise ConversationFileError(f"{path}: channel {channel!r} is not one of "
                                    f"{', '.join(channels)}")
    raw_from = str(data.get("from") or "try-user")
    sender = Sender(raw_from, str(data.get("name") or ""),
                    email=raw_from if "@" in raw_from else "",
                    language_hint=str(data.get("hint") or ""))
    steps: list[Step] = []
    moment = now or datetime.now(UTC)
    for n, item in enumerate(data["messages"], 1):
        where = f"{path}: message {n}"
        if isinstance(item, str):
            item = {"text": item}
        if not isinstance(item, dict) or not str(item.get("text") or "").strip():
            raise ConversationFileError(f"{where}: needs `text:`")
        moment = _moment(item, moment, timezone, where, first=not steps)
        steps.append(Step(moment, str(item["text"])))
    if not steps:
        raise ConversationFileError(f"{path}: no messages")
    return Script(channel, sender, steps)


def _moment(item: dict[str, Any], previous: datetime, tz: ZoneInfo, where: str, *,
            first: bool) -> datetime:
    if "at" in item:
        try:
            moment = datetime.fromisoformat(str(item["at"]))
        except ValueError as exc:
            raise ConversationFileError(f"{where}: `at: {item['at']}` is not a time like "
                                        "2026-12-05T21:10") from exc
        moment = moment if moment.tzinfo else moment.replace(tzinfo=tz)
        if not first and moment < previous:
            raise ConversationFileError(f"{where}: `at` goes back in time")
        return moment
    if "after" in item:
        try:
            return previous + parse_duration(item["after"], positive=True)
        except ValueError as exc:
            raise ConversationFileError(f"{where}: `after: {item['after']}` is not a "
                                        "duration like 5m or 2h") from exc
    return previous if first else previous + DEFAULT_GAP


async def replay(decide: Any, script: Script, *, default_queue: str = "general"
                 ) -> list[dict[str, Any]]:
    """Each customer message with what goes out after it and the conversation's state."""
    from router.engine.pipeline import Pipeline
    from router.store.sqlite import SqliteStore

    turns: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="inquiry-try-") as tmp:
        store = SqliteStore(Path(tmp) / "try.db")
        await store.open()
        clock = [script.steps[0].at]
        pipeline = Pipeline(store, lambda: decide, default_queue=default_queue,
                            clock=lambda: clock[0])
        seen: set[int] = set()
        try:
            for n, step in enumerate(script.steps, 1):
                clock[0] = step.at
                result = await pipeline.ingest(InboundMessage(
                    script.channel, f"try-{n}", "try-thread", script.sender, step.text,
                    step.at))
                conv_id = result.conversation_id
                rows = await store.read(lambda tx: tx.outbox_list(
                    [OutboxStatus.PENDING], limit=10_000))
                heard = [r.payload for r in rows if r.id not in seen
                         and r.conversation_id == conv_id and r.channel == script.channel]
                seen.update(r.id for r in rows)
                conv = await store.read(lambda tx, c=conv_id: tx.get_conversation(c))
                turns.append({
                    "at": step.at.isoformat(), "text": step.text,
                    "heard": [{"text": h.get("text", ""), "reply_id": h.get("reply_id", ""),
                               "language": h.get("language", ""),
                               "buttons": [q["label"] for q in h.get("quick_replies", [])]}
                              for h in heard],
                    "status": str(conv.status) if conv else "", "queue": conv.queue if conv else "",
                    "priority": conv.priority if conv else "",
                    "assignee": conv.assignee if conv else "",
                })
        finally:
            await store.close()
    return turns


def run_conversation(decide: Any, path: str, *, as_json: bool, default_queue: str,
                     channels: tuple[str, ...]) -> int:
    ruleset = getattr(decide, "ruleset", None)
    tz = getattr(ruleset, "timezone", None) or ZoneInfo("UTC")
    try:
        script = load_script(path, timezone=tz, channels=channels)
    except ConversationFileError as exc:
        print(f"error: {exc}")
        return 2
    turns = asyncio.run(replay(decide, script, default_queue=default_queue))
    for turn in turns:
        if as_json:
            print(json.dumps(turn, ensure_ascii=False), flush=True)
        else:
            print(render_turn(turn, tz))
    return 0


def render_turn(turn: dict[str, Any], tz: ZoneInfo) -> str:
    at = datetime.fromisoformat(turn["at"]).astimezone(tz)
    lines = [f"{at:%a %Y-%m-%d %H:%M}  customer: {turn['text']}"]
    if not turn["heard"]:
        lines.append("                  (nothing is sent)")
    for reply in turn["heard"]:
        first, *rest = reply["text"].splitlines() or [""]
        lines.append(f"                  we say:   {first}")
        lines += [f"                            {line}" for line in rest]
        if reply["buttons"]:
            lines.append(f"                            [{'] ['.join(reply['buttons'])}]")
    state = f"{turn['status']}, queue {turn['queue'] or '-'}, priority {turn['priority']}"
    if turn["assignee"]:
        state += f", assigned to {turn['assignee']}"
    lines.append(f"                  ({state})")
    return "\n".join(lines)
