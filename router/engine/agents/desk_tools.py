"""`DeskTools`: `AgentTools` over the agent desk and its store.

Commands run as the desk's actions (`Desk.run` / `Desk.resolve`), so they are authorised
and atomic exactly as from the API; reads are single read units.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from router.domain.model import Agent, Conversation, Direction, Event
from router.engine.agents import actions
from router.engine.agents.desk import Desk
from router.engine.agents.policy import DeskPolicy
from router.ports.agent_tools import AgentTools, ConversationView, MessageView
from router.ports.notify import Notifier
from router.store.base import Tx


class DeskTools(AgentTools):
    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    @property
    def notifier(self) -> Notifier | None:
        return self.desk.notifier

    def queue_names(self) -> list[str]:
        return sorted(self.desk.policy.queues)

    async def agents(self) -> list[Agent]:
        return await self.desk.store.read(lambda tx: tx.list_agents(include_disabled=False))

    async def claim(self, conversation_id: int, agent: Agent) -> None:
        await self.desk.run(conversation_id, actions.claim, agent)

    async def resolve(self, conversation_id: int, agent: Agent) -> None:
        await self.desk.resolve(conversation_id, agent)

    async def transfer(self, conversation_id: int, agent: Agent, queue: str) -> None:
        await self.desk.run(conversation_id, actions.transfer, agent, queue=queue)

    async def reply(self, conversation_id: int, agent: Agent, text: str, *, via: str,
                    dedupe_key: str) -> int | None:
        result, _ = await self.desk.run(conversation_id, _reply_once, agent, text=text,
                                        via=via, key=dedupe_key)
        return result if isinstance(result, int) else None

    async def view(self, conversation_id: int) -> ConversationView | None:
        return await self.desk.store.read(lambda tx: _view(tx, conversation_id))

    async def message(self, conversation_id: int, message_id: int) -> MessageView | None:
        return await self.desk.store.read(lambda tx: _message(tx, conversation_id, message_id))

    async def events_after(self, cursor: int, kinds: Sequence[str],
                           limit: int = 200) -> list[Event]:
        return await self.desk.store.read(
            lambda tx: tx.list_events(after_id=cursor, kinds=tuple(kinds), limit=limit))

    async def conversation_for_thread(self, channel: str, thread_key: str) -> int | None:
        conv = await self.desk.store.read(lambda tx: tx.find_conversation(channel, [thread_key]))
        return conv.id if conv is not None else None


async def _reply_once(tx: Tx, policy: DeskPolicy, conv: Conversation, actor: Agent,
                      now: datetime, *, text: str, via: str, key: str) -> int | None:
    """`actions.reply` once per `(via, key)`; its event says where it was typed. (The name
    makes the desk authorise it as a reply: `router.engine.agents.authz.act_of`.)"""
    if not await tx.inbox_claim(via, key, now):
        return None  # a retry of a reply already sent
    return await actions.reply(tx, policy, conv, actor, now, text, via=via)


async def _view(tx: Tx, conversation_id: int) -> ConversationView | None:
    conv = await tx.get_conversation(conversation_id)
    if conv is None:
        return None
    contact = await tx.get_contact(conv.contact_id)
    messages = await tx.list_messages(conversation_id)
    last = next((m.text for m in reversed(messages)
                 if m.direction == Direction.INBOUND and not m.internal), "")
    names: dict[str, str] = {}
    if conv.assignee:
        agent = await tx.get_agent(conv.assignee)
        names[conv.assignee] = (agent.display_name if agent else "") or conv.assignee
    return ConversationView(conv, contact, last, names)


async def _message(tx: Tx, conversation_id: int, message_id: int) -> MessageView | None:
    message = await tx.get_message(message_id)
    if message is None or message.internal or message.conversation_id != conversation_id:
        return None
    conv = await tx.get_conversation(conversation_id)
    if conv is None:
        return None
    if message.direction == Direction.INBOUND:
        contact = await tx.get_contact(conv.contact_id)
        author = (contact.display_name if contact else "") or "Customer"
    else:
        agent = await tx.get_agent(message.author_id) if message.author_id else None
        author = (agent.display_name if agent else "") or message.author_id or "Agent"
    return MessageView(conv, message.text, author)
