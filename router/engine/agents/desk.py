"""The agent desk: runs agents' actions as units of work and hooks into the pipeline.

Every action is authorised here, in its unit of work, against the conversation as it is
then (`router.engine.agents.authz`): the API, the console and Slack cannot differ or skip it.
Every action unit ends with `auto_assign`, and so does the pipeline hook: capacity freed
by a resolve, transfer or an agent coming online is handed out in the same commit, and
a newly queued conversation is assigned the moment it arrives (work-conserving).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from router.domain.model import Agent, Contact, Conversation, Event, Status
from router.engine import audit
from router.engine.agents import actions, contacts, roster, sla
from router.engine.agents.authz import Act, act_of, authorize, current
from router.engine.agents.followups import resolve_then_rules
from router.engine.agents.policy import DeskPolicy
from router.engine.agents.queue import TEAM, auto_assign, honour_assign_request
from router.engine.pipeline import Decide
from router.ports.notify import EventNotifier, Notifier
from router.store.base import Store, Tx, utcnow

log = logging.getLogger(__name__)
T = TypeVar("T")
Action = Callable[..., Awaitable[Any]]


class Desk:
    def __init__(self, store: Store, policy: DeskPolicy, *,
                 clock: Callable[[], datetime] = utcnow, notifier: Notifier | None = None,
                 decider: Callable[[], Decide] | None = None,
                 wake_outbox: Callable[[], None] | None = None) -> None:
        self.store = store
        self.policy = policy
        self.clock = clock
        self.notifier: Notifier = notifier or EventNotifier()
        self.decider = decider  # the rules and bots, for events agents cause (`resolved`)
        self.wake_outbox = wake_outbox

    async def write(self, fn: Callable[[Tx], Awaitable[T]]) -> T:
        """One unit of work, then `announce` it."""
        result = await self.store.write(fn)
        self.announce()
        return result

    def announce(self) -> None:
        """A desk unit committed: wake the live streams, and the outbox dispatcher, since
        the unit may have written a reply (an agent's, a CSAT survey, an idle rule's)
        that should leave at once rather than at the dispatcher's next look."""
        self.notifier.notify()
        if self.wake_outbox is not None:
            self.wake_outbox()

    async def run(self, conversation_id: int, action: Action, actor: Agent,
                  **kwargs: Any) -> tuple[Any, Conversation]:
        """Apply `action` (from router.engine.agents.actions) and return (its result, the conversation)."""
        now = self.clock()

        async def unit(tx: Tx) -> tuple[Any, Conversation]:
            conv = await actions.load(tx, conversation_id)
            authorize(await current(tx, actor), act_of(action.__name__), conv)
            result = await action(tx, self.policy, conv, actor, now, **kwargs)
            await tx.save_conversation(conv, now)
            await auto_assign(tx, self.policy, now)
            return result, await actions.load(tx, conversation_id)

        return await self.write(unit)

    async def resolve(self, conversation_id: int, actor: Agent) -> tuple[Any, Conversation]:
        """Resolve and let the rules and bots react (thank-you reply, CSAT survey), from
        every place an agent resolves: the API, the console, Slack."""
        decide = self.decider() if self.decider is not None else None
        return await self.run(conversation_id, resolve_then_rules(decide), actor)

    async def set_presence(self, name: str, online: bool) -> bool:
        now = self.clock()

        async def unit(tx: Tx) -> bool:
            changed = await tx.set_agent_online(name, online, now)
            if changed:
                await tx.insert_event(Event(0, "agent_online" if online else "agent_offline",
                                            now, None, f"agent:{name}", {"agent": name}))
                await auto_assign(tx, self.policy, now)
            return changed

        return await self.write(unit)

    async def merge_contacts(self, source_id: int, target_id: int, actor: Agent, *,
                             source: str = "") -> Contact:
        """Admins only (irreversible). `source`: the client's address, for the audit log."""
        now = self.clock()

        async def unit(tx: Tx) -> Contact:
            authorize(await current(tx, actor), Act.MERGE_CONTACTS)
            return await contacts.merge(tx, source_id, target_id, actor, now, address=source)

        return await self.write(unit)

    async def edit_contact(self, contact_id: int, changes: dict[str, str], actor: Agent, *,
                           source: str = "") -> list[str]:
        """Every agent (issue 24); the names of the fields that changed."""
        now = self.clock()

        async def unit(tx: Tx) -> list[str]:
            authorize(await current(tx, actor), Act.EDIT_CONTACT)
            return await contacts.edit(tx, contact_id, changes, actor, now, address=source)

        return await self.write(unit)

    async def disable_agent(self, name: str, actor: Agent, *, source: str = "") -> bool:
        """Admins only; ConflictError for the last active admin. False if already disabled."""
        now = self.clock()

        async def unit(tx: Tx) -> bool:
            authorize(await current(tx, actor), Act.MANAGE_AGENTS)
            return await roster.disable(tx, name, audit.by_agent(actor, source), now)

        return await self.write(unit)

    async def enable_agent(self, name: str, actor: Agent, *, source: str = "") -> bool:
        """Admins only. False if the agent was not disabled."""
        now = self.clock()

        async def unit(tx: Tx) -> bool:
            authorize(await current(tx, actor), Act.MANAGE_AGENTS)
            return await roster.enable(tx, name, audit.by_agent(actor, source), now)

        return await self.write(unit)

    async def sync_agents(self, agents: Sequence[Agent]) -> None:
        """Upsert the agents declared in config (by name); presence and tokens are kept.
        What config.yaml added or changed (a role, say) goes into the audit log."""
        now = self.clock()

        async def unit(tx: Tx) -> None:
            for agent in agents:
                old = await tx.get_agent(agent.name)
                await tx.upsert_agent(agent, now)
                await roster.audit_saved(tx, old, agent, audit.CONFIG, now)

        await self.store.write(unit)

    async def on_conversation(self, tx: Tx, conv: Conversation, now: datetime) -> None:
        """Pipeline hook, inside the customer message's unit of work.

        A customer message ends a snooze and resumes a paused SLA clock; a conversation
        that is now waiting gets its due times and, in an auto-assign queue, an agent.
        """
        if conv.snoozed_until is not None:
            conv.snoozed_until = None
            await tx.insert_event(Event(0, "snooze_ended", now, conv.id, "customer",
                                        {"reason": "customer message"}))
        await honour_assign_request(tx, self.policy, conv, now)
        policy = self.policy.sla(conv.queue)
        sla.resume(conv, policy, self.policy.calendar, now)
        if conv.status in (Status.QUEUED, Status.ASSIGNED):
            sla.start_clocks(conv, policy, self.policy.calendar, now)
        elif conv.status == Status.RESOLVED:
            sla.stop_clocks(conv)
        if conv.status == Status.QUEUED and (conv.queue in self.policy.auto_queues
                                             or conv.metadata.get(TEAM)):
            await tx.save_conversation(conv, now)
            if await auto_assign(tx, self.policy, now):
                fresh = await tx.get_conversation(conv.id)
                for name in Conversation.__slots__:  # the caller saves its object next
                    setattr(conv, name, getattr(fresh, name))
