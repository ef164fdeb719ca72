"""What agents do to a conversation. Each function is one unit of work's body.

Every action writes an Event with the acting agent and the time, in the same transaction
as the change, so the history (and the live stream, which reads events) is complete.
Replies go through `router.engine.effects.enqueue_reply`, the same outbox path bots use.
Claim, reply and transfer also take a conversation over from the bot
(`router.engine.agents.takeover`): an agent may step in at any time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from router.domain.agent_errors import ActionRejected, ConflictError, NotFoundError
from router.domain.model import (
    Agent,
    AuthorKind,
    Conversation,
    Direction,
    Event,
    Message,
    Priority,
    ReplyContent,
    Status,
)
from router.engine.agents import sla, takeover
from router.engine.agents.authz import Act, authorize
from router.engine.agents.policy import DeskPolicy
from router.engine.agents.queue import check_capacity, take
from router.engine.effects import enqueue_reply, set_status
from router.store.base import Tx, ts

OPEN = (Status.QUEUED, Status.ASSIGNED)
ACTIVE = (Status.BOT, *OPEN)  # what an agent may reply to or transfer


async def load(tx: Tx, conversation_id: int) -> Conversation:
    conv = await tx.get_conversation(conversation_id)
    if conv is None:
        raise NotFoundError(f"conversation {conversation_id} does not exist")
    return conv


def _may_handle(conv: Conversation, actor: Agent) -> None:
    """Someone else's assigned conversation is theirs; admins may step in. The desk checks
    this before every action (`router.engine.agents.authz`); repeated here for callers that run
    an action function directly."""
    authorize(actor, Act.CONVERSATION, conv)


async def _event(tx: Tx, conv: Conversation, kind: str, actor: Agent, now: datetime,
                 **data: object) -> None:
    await tx.insert_event(Event(0, kind, now, conv.id, f"agent:{actor.name}", dict(data)))


async def claim(tx: Tx, policy: DeskPolicy, conv: Conversation, actor: Agent,
                now: datetime) -> None:
    """Take a waiting conversation, or take one over from the bot."""
    if conv.status == Status.BOT:
        await takeover.take_over(tx, policy, conv, actor, now, via="claim")
        return
    if conv.status != Status.QUEUED:
        detail = f"assigned to {conv.assignee}" if conv.assignee else str(conv.status)
        raise ConflictError(f"conversation {conv.id} is not waiting ({detail})")
    await take(tx, conv, actor.name, now, actor=f"agent:{actor.name}", reason="claim")


async def reply(tx: Tx, policy: DeskPolicy, conv: Conversation, actor: Agent, now: datetime,
                text: str, *, attachments: Sequence[dict[str, Any]] = (),
                outgoing: Sequence[dict[str, Any]] = (), if_assignee: str | None = None,
                via: str = "") -> int:
    """Send `text` to the customer on their channel; a waiting conversation is claimed,
    a bot-held one taken over (the customer is told first that the agent joined).

    Files (issue 24): `attachments` are kept on the message, `outgoing` (the same files
    with their paths) go to the channel with the outbox row. `if_assignee`: send only
    while the conversation is still held by that agent ("" = nobody), so a reply written
    while a colleague took the conversation is not sent unseen (409 instead). `via`: the
    agent tool it was typed in (`router.ports.agent_tools`), recorded on the event so that tool
    does not show the agent their own reply a second time."""
    if conv.status not in ACTIVE:
        raise ConflictError(f"conversation {conv.id} is {conv.status}; reopen it to reply")
    if if_assignee is not None and conv.assignee != if_assignee:
        raise ConflictError(f"conversation {conv.id} is now assigned to "
                            f"{conv.assignee or 'nobody'}; look again before replying")
    _may_handle(conv, actor)
    if conv.status == Status.BOT:
        await takeover.take_over(tx, policy, conv, actor, now, via="reply")
    elif conv.status == Status.QUEUED:
        await take(tx, conv, actor.name, now, actor=f"agent:{actor.name}", reason="reply")
    message_id = await enqueue_reply(
        tx, conv, ReplyContent(text=text, language=conv.language), now,
        author_kind=AuthorKind.AGENT, author_id=actor.name,
        author_name=actor.display_name or actor.name,
        metadata={"attachments": list(outgoing)} if outgoing else None,
        attachments=list(attachments))
    first = conv.first_response_at is None
    conv.first_response_at = conv.first_response_at or now
    conv.last_agent_at = now
    sla.pause(conv, policy.sla(conv.queue), now)
    extra = {"via": via} if via else {}
    await _event(tx, conv, "agent_replied", actor, now, message_id=message_id,
                 first_response=first, **extra)
    return message_id


async def note(tx: Tx, policy: DeskPolicy, conv: Conversation, actor: Agent, now: datetime,
               text: str) -> int:
    """An internal note: stored with the conversation, never sent to the customer.
    Open to every agent, as claims are (`router.engine.agents.authz`): a colleague adds context."""
    message_id = await tx.insert_message(Message(
        0, conv.id, Direction.OUTBOUND, AuthorKind.AGENT, text, now, author_id=actor.name,
        internal=True))
    await _event(tx, conv, "note_added", actor, now, message_id=message_id)
    return message_id


async def transfer(tx: Tx, policy: DeskPolicy, conv: Conversation, actor: Agent, now: datetime,
                   *, queue: str = "", agent: str = "", note_text: str = "") -> None:
    if conv.status not in ACTIVE:
        raise ConflictError(f"conversation {conv.id} is {conv.status}; only open or bot-held "
                            "ones transfer")
    if bool(queue) == bool(agent):
        raise ActionRejected("give exactly one of 'queue' or 'agent'")
    if queue and queue not in policy.queues:
        raise ActionRejected(f"unknown queue '{queue}'; known: {', '.join(sorted(policy.queues))}")
    _may_handle(conv, actor)
    from_bot = conv.status == Status.BOT
    before = {"queue": conv.queue, "agent": conv.assignee}
    if note_text:
        await note(tx, policy, conv, actor, now, note_text)
    if queue:
        conv.queue = queue
        if conv.status == Status.QUEUED:
            conv.queued_at = now  # age counts in the queue it waits in
        await set_status(tx, conv, Status.QUEUED, now, f"agent:{actor.name}", "transfer")
    else:
        if agent == conv.assignee:
            raise ActionRejected(f"conversation {conv.id} is already assigned to {agent}")
        await check_capacity(tx, agent)
        conv.queue = conv.queue or policy.default_queue
        conv.assignee, conv.assigned_at = agent, now
        await set_status(tx, conv, Status.ASSIGNED, now, f"agent:{actor.name}", "transfer")
    await _event(tx, conv, "transferred", actor, now, **{
        "from_queue": before["queue"], "from_agent": before["agent"], "to_queue": conv.queue,
        "to_agent": conv.assignee, "note": note_text})
    if from_bot:
        await takeover.transferred_from_bot(tx, policy, conv, actor, now, to_agent=agent)


async def resolve(tx: Tx, policy: DeskPolicy, conv: Conversation, actor: Agent,
                  now: datetime) -> None:
    if conv.status == Status.RESOLVED:
        raise ConflictError(f"conversation {conv.id} is already resolved")
    _may_handle(conv, actor)
    conv.snoozed_until = None
    sla.stop_clocks(conv)
    await set_status(tx, conv, Status.RESOLVED, now, f"agent:{actor.name}", "resolve")
    await _event(tx, conv, "resolved", actor, now, agent=conv.assignee)


async def reopen(tx: Tx, policy: DeskPolicy, conv: Conversation, actor: Agent,
                 now: datetime) -> None:
    if conv.status != Status.RESOLVED:
        raise ConflictError(f"conversation {conv.id} is {conv.status}, not resolved")
    conv.queue = conv.queue or policy.default_queue
    await set_status(tx, conv, Status.QUEUED, now, f"agent:{actor.name}", "reopened")
    sla.start_clocks(conv, policy.sla(conv.queue), policy.calendar, now)
    await _event(tx, conv, "reopened", actor, now)


async def snooze(tx: Tx, policy: DeskPolicy, conv: Conversation, actor: Agent, now: datetime,
                 until: datetime) -> None:
    """Hide an open conversation until `until`; a customer message wakes it earlier."""
    if conv.status not in OPEN:
        raise ConflictError(f"conversation {conv.id} is {conv.status}; only open ones snooze")
    if until <= now:
        raise ActionRejected("'until' must be in the future")
    _may_handle(conv, actor)
    conv.snoozed_until = until
    await _event(tx, conv, "snoozed", actor, now, until=ts(until))


async def update(tx: Tx, policy: DeskPolicy, conv: Conversation, actor: Agent, now: datetime,
                 *, priority: str | None = None, add_tags: list[str] | None = None,
                 remove_tags: list[str] | None = None) -> None:
    _may_handle(conv, actor)
    if priority is not None and priority != conv.priority:
        if priority not in set(Priority):
            raise ActionRejected(f"priority must be one of {', '.join(Priority)}")
        await _event(tx, conv, "priority_changed", actor, now, **{"from": conv.priority,
                                                                   "to": priority})
        conv.priority = priority
    tags = [t for t in conv.tags if t not in (remove_tags or [])]
    tags += [t for t in dict.fromkeys(add_tags or []) if t not in tags]
    if tags != conv.tags:
        await _event(tx, conv, "tags_changed", actor, now, **{"from": conv.tags, "to": tags})
        conv.tags = tags
