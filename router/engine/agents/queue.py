"""Queue order and assignment: atomic takes, and round-robin auto-assignment.

Order is priority, then the SLA due time, then age (`router.store.base.urgency_key`,
which the SQL of every backend mirrors). A take is a conditional UPDATE (`status =
'queued'`) after locking the agent row and counting its load, in one unit of work: of
two agents taking the same conversation exactly one wins, and nobody exceeds capacity.
"""

from __future__ import annotations

import logging
from datetime import datetime

from router.domain.errors import ConflictError
from router.domain.model import Agent, Conversation, Event, Status
from router.engine.agents.policy import DeskPolicy
from router.engine.effects import ASSIGN_REQUEST, set_status
from router.store.base import ConversationFilter, Tx, ts

log = logging.getLogger(__name__)
AUTO = "system:auto-assign"


async def check_capacity(tx: Tx, name: str) -> Agent:
    """The agent, row locked, if it may take one more conversation; ConflictError if not."""
    agent = await tx.get_agent(name, for_update=True)
    if agent is None or agent.disabled:
        raise ConflictError(f"agent '{name}' does not exist or is disabled")
    load = (await tx.agent_loads()).get(name, 0)
    if load >= agent.capacity:
        raise ConflictError(f"agent '{name}' is at capacity ({load}/{agent.capacity}); "
                            "resolve or transfer a conversation first")
    return agent


async def take(tx: Tx, conv: Conversation, agent: str, now: datetime, *, actor: str,
               reason: str, from_status: Status = Status.QUEUED) -> None:
    """Assign a queued (or, for a takeover, bot-held) conversation to `agent` (capacity
    checked); ConflictError if lost."""
    await check_capacity(tx, agent)
    if not await tx.claim_conversation(conv.id, agent, now, from_status=str(from_status)):
        current = await tx.get_conversation(conv.id)
        if current is not None and current.status == from_status:
            raise ConflictError(f"conversation {conv.id} is being changed by someone else "
                                "right now; try again")
        who = f"assigned to {current.assignee}" if current and current.assignee else (
            str(current.status) if current else "gone")
        state = "waiting" if from_status == Status.QUEUED else "with the bot"
        raise ConflictError(f"conversation {conv.id} is no longer {state} ({who})")
    # The claim locked the row: read it anew, so that saving `conv` below never undoes a
    # change another instance committed after `conv` was read (auto-assign lists unlocked).
    fresh = await tx.get_conversation(conv.id)
    assert fresh is not None
    for name in Conversation.__slots__:
        setattr(conv, name, getattr(fresh, name))
    conv.status = from_status  # what the conditional UPDATE saw: keeps the event honest
    conv.assignee, conv.assigned_at = agent, now
    await set_status(tx, conv, Status.ASSIGNED, now, actor, reason)
    await tx.insert_event(Event(0, "assigned", now, conv.id, actor,
                                {"agent": agent, "queue": conv.queue, "reason": reason}))
    await tx.touch_agent_assigned(agent, now)
    await tx.save_conversation(conv, now)


async def auto_assign(tx: Tx, policy: DeskPolicy, now: datetime) -> list[tuple[int, str]]:
    """Hand the most urgent waiting conversations of auto-assign queues to free agents.

    Round-robin: the eligible agent (online, enabled, under capacity, speaks the
    conversation's language when known) who was assigned longest ago goes first. Runs at
    the end of every unit of work that may free capacity or add work, so no conversation
    waits while an eligible agent idles.
    """
    queues = policy.auto_queues
    agents = [a for a in await tx.list_agents(include_disabled=False) if a.online]
    loads = await tx.agent_loads()
    free = {a.name: a.capacity - loads.get(a.name, 0) for a in agents}
    slots = sum(max(0, n) for n in free.values())
    if slots <= 0:
        return []
    waiting = await tx.list_conversations(ConversationFilter(
        statuses=(str(Status.QUEUED),), queues=queues, include_snoozed=False, order="urgency"),
        limit=slots * 4) if queues else []
    waiting += await _team_waiting(tx, policy, slots, {c.id for c in waiting})
    done: list[tuple[int, str]] = []
    for conv in waiting:
        team = policy.teams.get(str(conv.metadata.get(TEAM, "")))
        eligible = [a for a in agents if free[a.name] > 0 and a.speaks(conv.language)
                    and (team is None or a.name in team)]
        if not eligible:
            continue
        agent = min(eligible, key=lambda a: (ts(a.last_assigned_at) or "", a.name))
        try:
            await take(tx, conv, agent.name, now, actor=AUTO, reason="auto")
        except ConflictError:
            continue
        free[agent.name] -= 1
        agent.last_assigned_at = now
        done.append((conv.id, agent.name))
        if not any(n > 0 for n in free.values()):
            break
    return done


TEAM = "team"  # conversation metadata: auto-assign only to this team's members


async def _team_waiting(tx: Tx, policy: DeskPolicy, slots: int,
                        seen: set[int]) -> list[Conversation]:
    """Waiting conversations that a rule gave to a team, in any queue."""
    if not policy.teams:
        return []
    waiting = await tx.list_conversations(ConversationFilter(
        statuses=(str(Status.QUEUED),), include_snoozed=False, order="urgency"),
        limit=slots * 4)
    return [c for c in waiting if c.id not in seen and c.metadata.get(TEAM)]


async def honour_assign_request(tx: Tx, policy: DeskPolicy, conv: Conversation,
                                now: datetime) -> None:
    """A rule's `assign`: take for the named agent (capacity checked) or mark the team.

    An agent at capacity, offline or unknown leaves the conversation waiting in its queue,
    with an event saying why, rather than overloading anyone.
    """
    if conv.status != Status.QUEUED:
        return  # a bots-first request waits in the metadata until the hand-off
    target = str(conv.metadata.pop(ASSIGN_REQUEST, "") or "")
    if not target:
        return
    if target in policy.teams:
        conv.metadata[TEAM] = target
        await tx.insert_event(Event(0, "team_assigned", now, conv.id, "rules", {"team": target}))
        return
    await tx.save_conversation(conv, now)
    try:
        await take(tx, conv, target, now, actor="rules", reason="rule")
    except ConflictError as exc:
        await tx.insert_event(Event(0, "assign_failed", now, conv.id, "rules",
                                    {"agent": target, "reason": str(exc)}))
