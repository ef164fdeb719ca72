"""What agents do from Slack: buttons on a root message and replies in its thread.

Each goes through the agent desk (`router.agents`), so Slack follows the same rules as
the HTTP API: the claim is atomic (of two agents pressing Claim one wins), every change
writes its event, capacity and permissions are checked, and a reply is an outbox row to
the customer's own channel, authored by the agent. A Slack user is an agent when their
Slack email (users.info) is an agent's email. A refusal (someone else claimed it, the
conversation is resolved, not an agent) is told to that user only (an ephemeral message)
and the request is still acknowledged: a retry would be refused the same way.

An agent's thread reply is deduplicated by the inbox key `agent:<channel>:<ts>` claimed in
the same unit of work as the reply, so a Slack retry never sends the customer two copies.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from channels.slack.parse import CHANNEL, AgentButton, AgentReply
from channels.slack.profiles import Profiles
from channels.slack.workspace import ROOT_KEYS, THREAD_MARK
from router.agents import actions
from router.agents.desk import Desk
from router.agents.errors import ActionRejected, Forbidden
from router.agents.policy import DeskPolicy
from router.errors import ConflictError, NotFoundError
from router.model import Agent, Conversation, Event
from router.store.base import Tx

log = logging.getLogger(__name__)
REFUSALS = (ConflictError, NotFoundError, Forbidden, ActionRejected)


class AgentInput:
    def __init__(self, *, desk_provider: Callable[[], Desk | None], profiles: Profiles,
                 client: AsyncWebClient, on_change: Callable[[], None]) -> None:
        self.desk_provider = desk_provider
        self.profiles = profiles
        self.client = client
        self.on_change = on_change
        self._notices: set[asyncio.Task[None]] = set()

    async def button(self, press: AgentButton) -> None:
        desk, agent = await self._desk_and_agent(press.user, press.channel, "")
        if desk is None or agent is None:
            return
        verb = press.action
        try:
            if verb == "claim":
                await desk.run(press.conversation_id, actions.claim, agent)
            elif verb == "resolve":
                await desk.resolve(press.conversation_id, agent)
            else:
                await desk.run(press.conversation_id, actions.transfer, agent, queue=press.value)
        except REFUSALS as exc:
            self.notice(press.channel, press.user, f"Could not {verb}: {exc}", press.message_ts)
            return
        log.info("slack: %s %s conversation %s", agent.name, verb, press.conversation_id)
        self.on_change()

    async def reply(self, reply: AgentReply) -> None:
        desk = self.desk_provider()
        if desk is None:
            log.error("slack: an agent replied in a thread but no agent desk is running")
            return
        key = f"{reply.channel}:{reply.thread_ts}"
        conv = await desk.store.read(lambda tx: tx.find_conversation(ROOT_KEYS, [key]))
        if conv is None:
            log.debug("slack: reply in a thread that is not a conversation: %s", key)
            return
        if not reply.text.strip():
            self.notice(reply.channel, reply.user, "Only text reaches the customer; "
                        "files in the thread are not forwarded.", reply.thread_ts)
            return
        desk, agent = await self._desk_and_agent(reply.user, reply.channel, reply.thread_ts)
        if desk is None or agent is None:
            return
        try:
            await desk.run(conv.id, _thread_reply, agent, text=reply.text,
                           key=reply.inbox_key, ts=reply.ts)
        except REFUSALS as exc:
            self.notice(reply.channel, reply.user,
                        f"Not sent to the customer: {exc}", reply.thread_ts)
            return
        self.on_change()

    async def _desk_and_agent(self, user: str, channel: str,
                              thread_ts: str) -> tuple[Desk | None, Agent | None]:
        desk = self.desk_provider()
        if desk is None:
            log.error("slack: agent action but no agent desk is running")
            return None, None
        profile = await self.profiles.get(user)
        email = (profile.email if profile else "").lower()
        agent = None
        if email:
            agents = await desk.store.read(lambda tx: tx.list_agents(include_disabled=False))
            agent = next((a for a in agents if a.email.lower() == email), None)
        if agent is None:
            self.notice(channel, user, "You are not set up as an agent: your Slack email "
                        f"({email or 'unknown'}) must be an agent's email in the config.",
                        thread_ts)
        return desk, agent

    def notice(self, channel: str, user: str, text: str, thread_ts: str = "") -> None:
        """Tell one user why nothing happened, after the acknowledgement (never blocks it)."""
        task = asyncio.create_task(self._ephemeral(channel, user, text, thread_ts))
        self._notices.add(task)
        task.add_done_callback(self._notices.discard)

    async def _ephemeral(self, channel: str, user: str, text: str, thread_ts: str) -> None:
        kwargs: dict[str, Any] = {"channel": channel, "user": user, "text": text}
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        try:
            await self.client.chat_postEphemeral(**kwargs)
        except Exception as exc:
            log.warning("slack: could not tell %s: %s (%s)", user, text, exc)


async def _thread_reply(tx: Tx, policy: DeskPolicy, conv: Conversation, actor: Agent,
                        now: datetime, *, text: str, key: str, ts: str) -> int | None:
    """actions.reply, once per Slack message, marked as already visible in the thread."""
    if not await tx.inbox_claim(CHANNEL, key, now):
        return None  # a Slack retry of a reply already sent
    await tx.insert_event(Event(0, THREAD_MARK, now, conv.id, f"agent:{actor.name}", {"ts": ts}))
    return await actions.reply(tx, policy, conv, actor, now, text)
