"""The root message of a handed-off conversation in the agents' channel (Block Kit).

It shows who is waiting, where from, the last thing they said, the state (waiting /
claimed by X / resolved) and the SLA, with Claim / Resolve / Transfer controls that match
the state. Rendering is a pure function; a hash of its output lets the workspace skip a
chat.update when nothing visible changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from channels.slack.markup import escape
from channels.slack.parse import AGENT_ACTION_PREFIX
from router.domain.model import Contact, Conversation, Status

SNIPPET = 300


@dataclass(frozen=True, slots=True)
class Root:
    text: str  # notification / fallback text
    blocks: list[dict[str, Any]]

    @property
    def digest(self) -> str:
        raw = json.dumps([self.text, self.blocks], sort_keys=True).encode()
        return hashlib.sha256(raw).hexdigest()[:16]


def render_root(conv: Conversation, contact: Contact | None, last_text: str, *,
                agent_names: dict[str, str], queues: Sequence[str]) -> Root:
    who = escape((contact.display_name if contact else "") or f"contact {conv.contact_id}")
    state = _state(conv, agent_names)
    head = (f"*{who}* via `{escape(conv.channel)}` · queue *{escape(conv.queue or '-')}*"
            f" · priority {escape(str(conv.priority))} · #{conv.id}")
    snippet = escape(last_text.strip()[:SNIPPET]) + ("…" if len(last_text.strip()) > SNIPPET else "")
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": head}},
    ]
    if snippet:
        blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                   "text": "> " + snippet.replace("\n", "\n> ")}})
    context = [state, *_sla(conv)]
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": t}
                                                   for t in context]})
    controls = _controls(conv, queues)
    if controls:
        blocks.append({"type": "actions", "block_id": f"ir.conv.{conv.id}", "elements": controls})
    name = (contact.display_name if contact else "") or "customer"
    text = f"{_plain_state(conv, agent_names)}: {name} (#{conv.id})"
    return Root(escape(text), blocks)


def _name(agent_names: dict[str, str], name: str) -> str:
    return agent_names.get(name) or name


def _state(conv: Conversation, agent_names: dict[str, str]) -> str:
    if conv.status == Status.ASSIGNED:
        return f":large_blue_circle: *Claimed by {escape(_name(agent_names, conv.assignee))}*"
    if conv.status == Status.RESOLVED:
        return ":white_check_mark: *Resolved*"
    if conv.status == Status.QUEUED:
        return ":hourglass_flowing_sand: *Waiting*"
    return ":robot_face: *With the bot*"


def _plain_state(conv: Conversation, agent_names: dict[str, str]) -> str:
    if conv.status == Status.ASSIGNED:
        return f"claimed by {_name(agent_names, conv.assignee)}"
    return {Status.RESOLVED: "resolved", Status.QUEUED: "waiting"}.get(conv.status, "bot")


def _sla(conv: Conversation) -> list[str]:
    if conv.status == Status.RESOLVED:
        return []
    out = []
    if conv.sla_first_breached_at:
        out.append(":warning: first response SLA breached")
    elif conv.first_response_due and conv.first_response_at is None:
        out.append(f"first response due {_when(conv.first_response_due)}")
    if conv.sla_resolution_breached_at:
        out.append(":warning: resolution SLA breached")
    elif conv.resolution_due:
        out.append(f"resolution due {_when(conv.resolution_due)}")
    return out


def _when(due: datetime) -> str:
    # Slack renders <!date> in each reader's own timezone; the fallback is UTC.
    fallback = due.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(due.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def _controls(conv: Conversation, queues: Sequence[str]) -> list[dict[str, Any]]:
    if conv.status not in (Status.QUEUED, Status.ASSIGNED):
        return []
    out: list[dict[str, Any]] = []
    if conv.status == Status.QUEUED:
        out.append(_button("claim", "Claim", conv.id, style="primary"))
    out.append(_button("resolve", "Resolve", conv.id))
    targets = [q for q in queues if q != conv.queue][:100]
    if targets:
        out.append({
            "type": "static_select", "action_id": f"{AGENT_ACTION_PREFIX}transfer",
            "placeholder": {"type": "plain_text", "text": "Transfer to…"},
            "options": [{"text": {"type": "plain_text", "text": q[:75]},
                         "value": f"{conv.id}:{q}"} for q in targets]})
    return out


def _button(verb: str, label: str, conv_id: int, style: str = "") -> dict[str, Any]:
    button: dict[str, Any] = {"type": "button", "action_id": f"{AGENT_ACTION_PREFIX}{verb}",
                              "text": {"type": "plain_text", "text": label},
                              "value": str(conv_id)}
    if style:
        button["style"] = style
    return button
