"""Rules and bots reacting to what agents and clocks do: `resolved`, `sla_breached`.

A customer message runs the rules in the pipeline; these events happen without one, so
the decision sees the conversation with its last customer message. The actions apply in
the same unit of work as the change that caused them: resolving and sending the CSAT
survey commit together, or not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from router.domain.agent_errors import NotFoundError
from router.domain.model import (
    Agent,
    Contact,
    Conversation,
    DecisionContext,
    Direction,
    Event,
    InboundMessage,
    Sender,
)
from router.engine.agents import actions
from router.engine.agents.policy import DeskPolicy
from router.engine.effects import apply_actions
from router.engine.pipeline import Decide
from router.store.base import Tx

log = logging.getLogger(__name__)

DeskAction = Callable[[Tx, DeskPolicy, Conversation, Agent, datetime], Awaitable[None]]


async def context_for(tx: Tx, conv: Conversation, now: datetime, event: str = "message",
                      metadata: dict[str, object] | None = None
                      ) -> tuple[DecisionContext, Contact]:
    """The conversation as the rules see it, with its last customer message."""
    contact = await tx.get_contact(conv.contact_id)
    if contact is None:
        raise NotFoundError(f"contact {conv.contact_id} of conversation {conv.id} is gone")
    inbound = [m for m in await tx.list_messages(conv.id) if m.direction == Direction.INBOUND]
    last = inbound[-1] if inbound else None
    message = InboundMessage(conv.channel, last.external_id if last else "", conv.thread_key,
                             Sender(conv.recipient), last.text if last else "",
                             last.created_at if last else now, metadata=metadata or {})
    return DecisionContext(message, conv.view(), contact.view(), now, event=event), contact


async def run_rules(tx: Tx, conv: Conversation, decide: Decide, event: str, now: datetime, *,
                    default_queue: str, metadata: dict[str, object] | None = None) -> None:
    """Evaluate the rules and bots for `event` and apply their actions in this unit."""
    ctx, contact = await context_for(tx, conv, now, event, metadata)
    try:
        decision = decide(ctx)
    except Exception:  # a broken rule must not undo the agent's action
        log.exception("rules failed on %s for conversation %s", event, conv.id)
        return
    applied = await apply_actions(tx, conv, contact, decision.actions, now,
                                  default_queue=default_queue)
    if applied.changed:
        await tx.insert_event(Event(0, "rules_applied", now, conv.id, "rules", {
            "event": event, "version": decision.rules_version, "trace": decision.trace,
            "actions": applied.events}))


def resolve_then_rules(decide: Decide | None) -> DeskAction:
    """A desk action: resolve, then the rules' `resolved` event (thanks, CSAT survey)."""
    async def resolve(tx: Tx, policy: DeskPolicy, conv: Conversation, actor: Agent,
                      now: datetime) -> None:
        await actions.resolve(tx, policy, conv, actor, now)
        if decide is not None:
            await run_rules(tx, conv, decide, "resolved", now, default_queue=policy.default_queue)

    return resolve
