"""What agents do from Slack: buttons on a root message and replies in its thread.

Each goes through the agent desk (`router.engine.agents`), so Slack follows the same rules as
the HTTP API: the claim is atomic (of two agents pressing Claim one wins), every change
writes its event, capacity and permissions are checked, and a reply is an outbox row to
the customer's own channel, authored by the agent. A Slack user is an agent when their
Slack email (users.info) is an agent's email. A refusal (someone else claimed it, the
conversation is resolved, not an agent) is told to that user only (an ephemeral message)
and the request is still acknowledged: a retry would be refused the same way.

Everything goes through the desk's `AgentTools` port (`router.ports.agent_tools`), never the
store. An agent's thread reply is deduplicated by the inbox key `agent:<channel>:<ts>`,
claimed by the desk in the same unit of work as the reply, so a Slack retry never sends
the customer two copies.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from channels.slack.parse import CHANNEL, AgentButton, AgentReply
from channels.slack.profiles import Profiles
from channels.slack.threads import Threads
from router.domain.model import Agent
from router.ports.agent_tools import REFUSALS, AgentTools

log = logging.getLogger(__name__)


class AgentInput:
    def __init__(self, *, tools: Callable[[], AgentTools | None], threads: Threads,
                 profiles: Profiles, client: AsyncWebClient,
                 on_change: Callable[[], None]) -> None:
        self.tools = tools
        self.threads = threads
        self.profiles = profiles
        self.client = client
        self.on_change = on_change
        self._notices: set[asyncio.Task[None]] = set()

    async def button(self, press: AgentButton) -> None:
        tools, agent = await self._tools_and_agent(press.user, press.channel, "")
        if tools is None or agent is None:
            return
        verb = press.action
        try:
            if verb == "claim":
                await tools.claim(press.conversation_id, agent)
            elif verb == "resolve":
                await tools.resolve(press.conversation_id, agent)
            else:
                await tools.transfer(press.conversation_id, agent, press.value)
        except REFUSALS as exc:
            self.notice(press.channel, press.user, f"Could not {verb}: {exc}", press.message_ts)
            return
        log.info("slack: %s %s conversation %s", agent.name, verb, press.conversation_id)
        self.on_change()

    async def reply(self, reply: AgentReply) -> None:
        if self.tools() is None:
            log.error("slack: an agent replied in a thread but no agent desk is running")
            return
        conversation_id = await self.threads.conversation_of(reply.channel, reply.thread_ts)
        if conversation_id is None:
            log.debug("slack: reply in a thread that is not a conversation: %s:%s",
                      reply.channel, reply.thread_ts)
            return
        if not reply.text.strip():
            self.notice(reply.channel, reply.user, "Only text reaches the customer; "
                        "files in the thread are not forwarded.", reply.thread_ts)
            return
        tools, agent = await self._tools_and_agent(reply.user, reply.channel, reply.thread_ts)
        if tools is None or agent is None:
            return
        try:
            # the event says `via: slack`: the workspace does not mirror it back
            await tools.reply(conversation_id, agent, reply.text, via=CHANNEL,
                              dedupe_key=reply.inbox_key)
        except REFUSALS as exc:
            self.notice(reply.channel, reply.user,
                        f"Not sent to the customer: {exc}", reply.thread_ts)
            return
        self.on_change()

    async def _tools_and_agent(self, user: str, channel: str,
                               thread_ts: str) -> tuple[AgentTools | None, Agent | None]:
        tools = self.tools()
        if tools is None:
            log.error("slack: agent action but no agent desk is running")
            return None, None
        profile = await self.profiles.get(user)
        email = (profile.email if profile else "").lower()
        agent = None
        if email:
            agent = next((a for a in await tools.agents() if a.email.lower() == email), None)
        if agent is None:
            self.notice(channel, user, "You are not set up as an agent: your Slack email "
                        f"({email or 'unknown'}) must be an agent's email in the config.",
                        thread_ts)
        return tools, agent

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
