"""Conversation upkeep beside tags, priority and snooze (issue 24): waking a snoozed
conversation early and the follow-up date.

The follow-up date is the day an agent means to get back to a customer by: it hides
nothing (a snooze does) and changes no clock; the console shows it and marks it once it
has passed. It lives in the conversation's metadata under `FOLLOW_UP`, set and cleared
with an event, like every other action (router/engine/agents/actions.py).
"""

from __future__ import annotations

from datetime import datetime

from router.domain.agent_errors import ActionRejected, ConflictError
from router.domain.model import Agent, Conversation, Event, Status
from router.engine.agents.policy import DeskPolicy
from router.store.base import Tx, ts

FOLLOW_UP = "follow_up_at"


async def unsnooze(tx: Tx, policy: DeskPolicy, conv: Conversation, actor: Agent,
                   now: datetime) -> None:
    """Show a snoozed conversation again now (as its snooze ending would)."""
    if conv.snoozed_until is None:
        raise ConflictError(f"conversation {conv.id} is not snoozed")
    conv.snoozed_until = None
    await tx.insert_event(Event(0, "snooze_ended", now, conv.id, f"agent:{actor.name}",
                                {"reason": "agent"}))


async def follow_up(tx: Tx, policy: DeskPolicy, conv: Conversation, actor: Agent,
                    now: datetime, at: datetime | None) -> None:
    """Set (or with None clear) the follow-up date."""
    if at is not None and at <= now:
        raise ActionRejected("'at' must be in the future (or null to clear it)")
    if at is not None and conv.status == Status.RESOLVED:
        raise ConflictError(f"conversation {conv.id} is resolved; reopen it first")
    old, new = conv.metadata.get(FOLLOW_UP), ts(at) if at is not None else None
    if old == new:
        return
    if new is None:
        conv.metadata.pop(FOLLOW_UP, None)
    else:
        conv.metadata[FOLLOW_UP] = new
    await tx.insert_event(Event(0, "follow_up_set" if new else "follow_up_cleared", now,
                                conv.id, f"agent:{actor.name}", {"at": new, "from": old}))
