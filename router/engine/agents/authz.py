"""Who may do what at the desk: one table, checked by the desk for every action.

The API, the console, Slack and the CLI all act through `router.engine.agents.desk.Desk`, and
the desk asks this module before it changes anything, so no entry point can skip a check
(routes may still refuse earlier, e.g. `admin=True`, but never instead of this).

The rules:

- a conversation that is *assigned* belongs to its assignee: only they or an admin act on
  it (reply, transfer, resolve, snooze, priority and tags, typing, and any action not
  named otherwise below: the strict rule is the default);
- claiming stays open to every agent: a queued or bot-held conversation goes to whoever
  claims first within capacity, and claiming an assigned one is a lost race (409), not a
  permission question;
- internal notes stay open to every agent, on any conversation: they change nothing and
  reach no customer, and a colleague adding context is the point of them;
- queued, bot-held and resolved conversations are open to every agent;
- merging contacts (irreversible) and managing agents (add, disable, enable, tokens) are
  for admins;
- editing a contact's name, email, phone and notes is open to every agent (issue 24), as
  is keeping one's own macros; shared macros, which every agent sends, are for admins.

The last active admin is guarded separately (`router.engine.agents.roster`): that refusal is a
409 about the desk's state, not a 403 about the actor.
"""

from __future__ import annotations

import enum
from typing import Final

from router.domain.agent_errors import Forbidden
from router.domain.model import Agent, Conversation, Role, Status
from router.store.base import Tx


class Act(enum.StrEnum):
    CLAIM = "claim"
    NOTE = "add a note"
    CONVERSATION = "act on a conversation"  # reply, note, transfer, resolve, snooze, update...
    MERGE_CONTACTS = "merge contacts"
    MANAGE_AGENTS = "manage agents"
    EDIT_CONTACT = "edit contacts"  # issue 24
    SHARED_MACROS = "manage shared macros"  # issue 24


class Scope(enum.Enum):
    ANY_AGENT = "any agent"
    ASSIGNEE_OR_ADMIN = "the assignee or an admin"
    ADMIN = "admins"


#: the one table; an action function not named in `CONVERSATION_ACTS` is `Act.CONVERSATION`
RULES: Final[dict[Act, Scope]] = {
    Act.CLAIM: Scope.ANY_AGENT,
    Act.NOTE: Scope.ANY_AGENT,
    Act.CONVERSATION: Scope.ASSIGNEE_OR_ADMIN,
    Act.MERGE_CONTACTS: Scope.ADMIN,
    Act.MANAGE_AGENTS: Scope.ADMIN,
    Act.EDIT_CONTACT: Scope.ANY_AGENT,
    Act.SHARED_MACROS: Scope.ADMIN,
}
CONVERSATION_ACTS: Final[dict[str, Act]] = {"claim": Act.CLAIM, "note": Act.NOTE}


def is_admin(agent: Agent) -> bool:
    return agent.role == Role.ADMIN and not agent.disabled


def act_of(action_name: str) -> Act:
    """The act a desk action function performs (by its `__name__`); the strict default."""
    return CONVERSATION_ACTS.get(action_name, Act.CONVERSATION)


async def current(tx: Tx, actor: Agent) -> Agent:
    """`actor` as stored now, in the action's unit of work: a role changed or an agent
    disabled since the caller looked it up counts (an agent unknown to the store is refused
    as disabled)."""
    fresh = await tx.get_agent(actor.name)
    if fresh is None:
        return Agent(actor.id, actor.name, role=Role.AGENT, disabled=True)
    return fresh


def authorize(actor: Agent, act: Act, conv: Conversation | None = None) -> None:
    """Raise Forbidden (HTTP 403) unless `actor` may perform `act` (on `conv`)."""
    if actor.disabled:
        raise Forbidden(f"agent '{actor.name}' is disabled")
    scope = RULES[act]
    if scope == Scope.ANY_AGENT or is_admin(actor):
        return
    if scope == Scope.ADMIN:
        raise Forbidden(f"only admins may {act}; ask an admin")
    if conv is not None and conv.status == Status.ASSIGNED and conv.assignee != actor.name:
        raise Forbidden(f"conversation {conv.id} is assigned to {conv.assignee}; only they "
                        "or an admin may act on it (ask them or an admin to transfer it)")
