"""`AgentTools`: the port through which a channel where agents work (Slack threads) uses
the agent desk, without seeing the store or the desk's internals (issue 25).

A channel that is an agent tool needs four things from the core: the desk's commands
(claim, resolve, transfer, reply), who the agents are (to recognise one by email), what a
conversation looks like (to render it), and the event feed after a cursor (to follow it;
the cursor itself lives in the channel's own `ChannelState`). Every command goes through
the desk, so authorisation, capacity, the atomic claim and the events are the same as
for the HTTP API and the console. `router.engine.agents.desk_tools.DeskTools` implements it over
the store; the service hands it to channels as `ChannelContext.agent_tools`.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass

from router.domain.agent_errors import ActionRejected, ConflictError, Forbidden, NotFoundError
from router.domain.model import Agent, Contact, Conversation, Event
from router.ports.notify import Notifier

#: what a command raises when the desk refuses it (already claimed, resolved, not allowed,
#: unknown queue): tell the agent, the request itself was handled
REFUSALS: tuple[type[Exception], ...] = (ConflictError, NotFoundError, Forbidden, ActionRejected)


@dataclass(frozen=True, slots=True)
class ConversationView:
    """A conversation as an agent tool shows it."""

    conversation: Conversation
    contact: Contact | None
    last_customer_text: str  # the newest non-internal inbound message ("" if none)
    agent_names: dict[str, str]  # the assignee's name -> display name


@dataclass(frozen=True, slots=True)
class MessageView:
    """One visible message of a conversation and who wrote it (display name)."""

    conversation: Conversation
    text: str
    author: str


class AgentTools(abc.ABC):
    """The agent desk as a channel sees it. Refusals raise one of `REFUSALS`."""

    @property
    @abc.abstractmethod
    def notifier(self) -> Notifier | None:
        """Woken after commits that wrote events (this instance's and, on PostgreSQL,
        other instances'): a follower of `events_after` waits on it instead of polling."""

    @abc.abstractmethod
    def queue_names(self) -> list[str]:
        """The configured queues, sorted (transfer targets)."""

    @abc.abstractmethod
    async def agents(self) -> list[Agent]:
        """Active (not disabled) agents."""

    @abc.abstractmethod
    async def claim(self, conversation_id: int, agent: Agent) -> None:
        """Take a waiting conversation (atomic: of two agents claiming at once, one wins)."""

    @abc.abstractmethod
    async def resolve(self, conversation_id: int, agent: Agent) -> None:
        """Resolve, letting the rules and bots react (thank-you reply, CSAT survey)."""

    @abc.abstractmethod
    async def transfer(self, conversation_id: int, agent: Agent, queue: str) -> None:
        """Move the conversation to `queue`."""

    @abc.abstractmethod
    async def reply(self, conversation_id: int, agent: Agent, text: str, *, via: str,
                    dedupe_key: str) -> int | None:
        """Send `text` to the customer on their own channel, authored by `agent`.

        `dedupe_key` is claimed under the inbox key `(via, dedupe_key)` in the same unit of
        work as the reply, so a platform's retry of the agent's message sends nothing
        twice: None then, else the new message's id. The `agent_replied` event carries
        `via`, so the tool the agent typed it in knows it need not show it again."""

    @abc.abstractmethod
    async def view(self, conversation_id: int) -> ConversationView | None:
        """What to render for the conversation; None if it does not exist (erased)."""

    @abc.abstractmethod
    async def message(self, conversation_id: int, message_id: int) -> MessageView | None:
        """A message of the conversation; None if missing, internal or of another one."""

    @abc.abstractmethod
    async def events_after(self, cursor: int, kinds: Sequence[str],
                           limit: int = 200) -> list[Event]:
        """Events of `kinds` with an id above `cursor`, oldest first."""

    @abc.abstractmethod
    async def conversation_for_thread(self, channel: str, thread_key: str) -> int | None:
        """The conversation a channel's thread key belongs to (open or not), if any."""
