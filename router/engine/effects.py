"""Applying decided actions to a conversation inside the caller's transaction.

Rules, bots and agents all change conversations through here, so every change writes
its event and every reply becomes an outbox row in the same transaction as the decision
that caused it: a crash can lose neither the reply nor the record of why it was sent.
"""

from __future__ import annotations

import itertools
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from router.domain.compose import Part, compose
from router.domain.model import (
    Action,
    AuthorKind,
    Contact,
    Conversation,
    Direction,
    Event,
    InboundMessage,
    Message,
    OutboxRow,
    OutboxStatus,
    ReplyContent,
    Status,
)
from router.store.base import Tx

log = logging.getLogger(__name__)

WEBHOOK_CHANNEL = "webhook"
ASSIGN_REQUEST = "assign_to"  # conversation metadata key read by the agent desk


@dataclass(slots=True)
class Applied:
    """What a batch of actions did; the pipeline uses it for follow-ups and wake-ups."""

    replies: int = 0
    outbox_rows: int = 0
    changed: bool = False
    stopped: bool = False
    resolved: bool = False
    events: list[str] = field(default_factory=list)


# Outbox rows' idempotency keys: unique per row (a UNIQUE column) and across processes
# and instances (a random 64-bit prefix per process); a counter after it, because drawing
# 16 random bytes per reply was a system call per message.
_KEY_PREFIX = secrets.token_hex(8)
_key_counter = itertools.count(1)


def new_key() -> str:
    return f"{_KEY_PREFIX}{next(_key_counter):016x}"


async def set_status(tx: Tx, conv: Conversation, status: Status, now: datetime, actor: str,
                     reason: str = "") -> None:
    if conv.status == status:
        return
    previous = conv.status
    conv.status = status
    if status == Status.QUEUED:
        conv.queued_at = now
        conv.assignee = ""
    elif status == Status.RESOLVED:
        conv.resolved_at = now
    elif status in (Status.BOT, Status.ASSIGNED):
        conv.resolved_at = None
    await tx.insert_event(Event(0, "status_changed", now, conv.id, actor,
                                {"from": str(previous), "to": str(status), "reason": reason}))


async def enqueue_reply(tx: Tx, conv: Conversation, reply: ReplyContent, now: datetime, *,
                        author_kind: AuthorKind, author_id: str = "", author_name: str = "",
                        reply_to: str = "", metadata: dict[str, Any] | None = None,
                        attachments: list[dict[str, Any]] | None = None) -> int:
    """Store an outbound message and its outbox row; returns the message id. Files an
    agent sends (issue 24) are the message's `attachments`; the channel finds them in
    the row's `metadata["attachments"]`."""
    payload = {
        "text": reply.text,
        "html": reply.html,
        "quick_replies": [{"label": q.label, "payload": q.payload} for q in reply.quick_replies],
        "author_kind": str(author_kind),
        "author_name": author_name,
        "reply_to": reply_to,
        "reply_id": reply.reply_id,
        "language": reply.language,
        "metadata": metadata or {},
    }
    return await tx.insert_message(
        Message(0, conv.id, Direction.OUTBOUND, author_kind, reply.text, now,
                author_id=author_id, language=reply.language, attachments=attachments or []),
        outbox=OutboxRow(0, new_key(), conv.channel, conv.thread_key, conv.recipient, payload,
                         OutboxStatus.PENDING, 0, now, now, conversation_id=conv.id))


async def apply_actions(tx: Tx, conv: Conversation, contact: Contact, actions: list[Action],
                        now: datetime, *, default_queue: str,
                        inbound: InboundMessage | None = None,
                        replies: list[Part] | None = None) -> Applied:
    """Apply `actions`; with `replies` given, bot replies are collected there instead of
    sent, for `send_composed` to send as one (router/domain/compose.py)."""
    applied = Applied()
    for action in actions:
        actor = f"rule:{action.source}" if action.source else "system"
        kind, value = action.kind, action.value
        if kind == "stop":
            applied.stopped = True
            break
        if kind == "reply" and isinstance(value, ReplyContent):
            if replies is not None:
                replies.append(Part(value, action.source))
            else:
                await enqueue_reply(
                    tx, conv, value, now, author_kind=AuthorKind.BOT, author_id=action.source,
                    reply_to=inbound.external_id if inbound else "",
                    metadata=dict(inbound.metadata) if inbound else None)
                applied.outbox_rows += 1
            conv.bot_turns += 1
            applied.replies += 1
        elif kind == "route":
            conv.queue = str(value)
            if conv.status == Status.BOT:
                await set_status(tx, conv, Status.QUEUED, now, actor, "route")
        elif kind == "prefer_queue":
            # `route: {bots_first: true}`: where a person will take it; the bots keep it
            conv.queue = str(value)
        elif kind == "prefer_assignee":
            # `assign: {bots_first: true}`: honoured by the desk once the conversation queues
            conv.metadata[ASSIGN_REQUEST] = str(value)
        elif kind == "handoff":
            queue = (value or {}).get("queue") if isinstance(value, dict) else value
            conv.queue = queue or conv.queue or default_queue
            if conv.status in (Status.BOT, Status.RESOLVED):
                await set_status(tx, conv, Status.QUEUED, now, actor, "handoff")
            await tx.insert_event(Event(0, "handoff", now, conv.id, actor,
                                        {"queue": conv.queue, "reason": _reason(value, action)}))
        elif kind == "assign":
            # A request, not an assignment: the agent desk honours it in this unit of work
            # with the same capacity checks as a claim (an agent), or limits the
            # conversation's auto-assignment to a team's members (a team).
            conv.metadata[ASSIGN_REQUEST] = str(value)
            if conv.status in (Status.BOT, Status.RESOLVED):
                conv.queue = conv.queue or default_queue
                await set_status(tx, conv, Status.QUEUED, now, actor, "assign")
        elif kind == "priority":
            conv.priority = str(value)
        elif kind == "tag":
            if value not in conv.tags:
                conv.tags.append(str(value))
        elif kind == "untag":
            conv.tags = [t for t in conv.tags if t != value]
        elif kind == "set_language":
            conv.language = contact.language = str(value)
            await tx.update_contact(contact)
        elif kind == "resolve":
            await set_status(tx, conv, Status.RESOLVED, now, actor, "resolve")
            applied.resolved = True
        elif kind == "note":
            await tx.insert_message(Message(0, conv.id, Direction.OUTBOUND, AuthorKind.SYSTEM,
                                            str(value), now, author_id=actor, internal=True))
        elif kind == "webhook" and isinstance(value, dict):
            await tx.outbox_add(OutboxRow(
                0, new_key(), WEBHOOK_CHANNEL, f"webhook:{conv.id}", str(value["url"]),
                {"metadata": {"json": value.get("payload", {})}}, OutboxStatus.PENDING, 0,
                now, now, conversation_id=conv.id))
            applied.outbox_rows += 1
        elif kind == "meta" and isinstance(value, dict):
            # Bot bookkeeping that must survive between messages (failures in a row, away
            # reply sent, CSAT state): a shallow update of the conversation's metadata.
            conv.metadata.update(value)
        elif kind == "record":
            await tx.insert_event(Event(0, str((value or {}).get("kind", "bot")), now, conv.id,
                                        actor, dict(value or {})))
        else:
            log.warning("ignoring unknown action %r from %s", kind, actor)
            continue
        applied.changed = True
        applied.events.append(kind)
    return applied


async def send_composed(tx: Tx, conv: Conversation, parts: list[Part], now: datetime, *,
                        inbound: InboundMessage | None = None) -> int:
    """Send the collected replies of one customer message as one; the outbox rows added."""
    composed = compose(parts)
    if composed is None:
        return 0
    reply, source = composed
    if len(parts) > 1:
        await tx.insert_event(Event(0, "replies_composed", now, conv.id, "bots", {
            "parts": [p.reply.reply_id or p.source for p in parts],
            "sent": reply.reply_id}))
    await enqueue_reply(tx, conv, reply, now, author_kind=AuthorKind.BOT, author_id=source,
                        reply_to=inbound.external_id if inbound else "",
                        metadata=dict(inbound.metadata) if inbound else None)
    return 1


def _reason(value: Any, action: Action) -> str:
    if isinstance(value, dict) and value.get("reason"):
        return str(value["reason"])
    return f"rule:{action.source}" if action.source else "requested"
