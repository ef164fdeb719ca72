"""The Slack channel adapter: events in (HTTP or Socket Mode), replies out, agents' threads.

Inbound: bolt verifies the request, `parse` classifies the payload, customer messages go
to the inbox raw (the core runs `decode` and `enrich`, which adds the sender's profile from
users.info, cached, before or after the acknowledgement); messages and buttons in the
agents' channel go to the `Workspace`. Outbound: the outbox calls `send`, which posts to the
customer's DM or thread.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from channels.slack import bolt_app
from channels.slack.agent_input import AgentInput
from channels.slack.fast_events import FastEvents
from channels.slack.outbound import Poster
from channels.slack.parse import (
    CHANNEL,
    AgentButton,
    AgentReply,
    FollowUp,
    Ignored,
    Options,
    Parsed,
    parse_action,
    parse_event,
)
from channels.slack.profiles import Profiles
from channels.slack.settings import SlackSettings
from channels.slack.workspace import LEASE, Workspace
from router.domain.model import InboundKind, InboundMessage, OutboundMessage, UnparsedInbound
from router.domain.tasks import cancel_and_wait
from router.ports.agent_tools import AgentTools
from router.ports.channel import ChannelAdapter, ChannelInbox, IngestResult, SendResult
from router.ports.channel_host import ChannelHost
from router.ports.channel_state import ChannelState
from router.ports.channel_state_local import LocalChannelState

log = logging.getLogger(__name__)


class SlackAdapter(ChannelAdapter):
    name = CHANNEL
    deferrable = True

    def __init__(self, *, settings: SlackSettings, state: ChannelState | None = None,
                 host: ChannelHost | None = None, data_dir: Path | None = None,
                 agent_tools: Callable[[], AgentTools | None] = lambda: None,
                 wake_outbox: Callable[[], None] = lambda: None,
                 poll_interval: float = 2.0, lease: float = LEASE) -> None:
        self.settings = settings
        self.host = host  # the customer side's lookups (None: built outside a service)
        self.agent_tools = agent_tools
        self.client = AsyncWebClient(token=settings.bot_token, base_url=settings.api_base,
                                     timeout=int(settings.request_timeout))
        self.profiles = Profiles(self.client, ttl=settings.profile_ttl,
                                 timeout=settings.profile_timeout)
        self.poster = Poster(self.client, max_text=settings.max_text,
                             attribution=settings.agent_attribution)
        self.workspace: Workspace | None = None
        self.agent_input: AgentInput | None = None
        self._local: LocalChannelState | None = None
        if settings.agents_channel:
            slack_dir = (data_dir or Path("data")) / "slack"
            if state is None:  # built outside a service: a store of its own
                state = self._local = LocalChannelState(slack_dir / "channel-state.db", CHANNEL)
            self.workspace = Workspace(
                client=self.client, tools=agent_tools, state=state,
                channel=settings.agents_channel, queues=settings.agent_queues,
                poll_interval=poll_interval, max_text=settings.max_text, lease=lease,
                legacy_cursor=slack_dir / "workspace.cursor")
            self.agent_input = AgentInput(tools=agent_tools, threads=self.workspace.threads,
                                          profiles=self.profiles, client=self.client,
                                          on_change=self._changed)
        self.wake_outbox = wake_outbox
        self._inbox: ChannelInbox | None = None
        self._event_options: Options | None = None  # known once bolt has seen an event
        self.fast_events: FastEvents | None = None
        self._bolt: AsyncApp | None = None
        self._socket: Any = None
        self._connecting: asyncio.Task[None] | None = None

    @property
    def socket(self) -> Any:
        """The Socket Mode handler (`channels.slack.socket.SocketHandler`) once started."""
        return self._socket

    # --- lifecycle -----------------------------------------------------------------
    def bolt(self, inbox: ChannelInbox) -> AsyncApp:
        """The bolt app (built once; `routes` and `start` both need it)."""
        self._inbox = inbox
        self._keep_alive()
        if self._bolt is None:
            self._bolt = bolt_app.build_bolt(signing_secret=self.settings.signing_secret,
                                             client=self.client, on_event=self._on_event,
                                             on_action=self._on_action)
        return self._bolt

    def _keep_alive(self) -> None:
        """One keep-alive HTTP session for every Web API call (users.info before each new
        customer's first message, chat.postMessage): without one, slack_sdk opens a new
        session and TCP connection per call. Bolt's per-request clients share it too."""
        if self.client.session is not None:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # built outside the service (tools, tests): per-call sessions, as before
        self.client.session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.settings.request_timeout))

    def routes(self, inbox: ChannelInbox) -> Sequence[web.RouteDef]:
        if self.settings.mode != "http":
            return ()
        self.fast_events = FastEvents(self.settings.signing_secret, self._on_event_with,
                                      lambda: self._event_options)
        return bolt_app.routes(self.bolt(inbox), self.fast_events)

    async def start(self, inbox: ChannelInbox) -> None:
        bolt = self.bolt(inbox)
        if self.workspace is not None:
            await self.workspace.start()
        if self.settings.mode == "socket":
            from channels.slack.socket import SocketHandler

            # apps.connections.open goes through self.client, so api_base applies here too
            self._socket = SocketHandler(bolt, self.settings.app_token)
            # in the background: slack_sdk retries a failing connect forever, and a wrong
            # app token must not keep the whole service (and its other channels) from starting
            self._connecting = asyncio.create_task(self._connect(self._socket),
                                                   name="slack-socket-connect")

    async def _connect(self, socket: Any) -> None:
        try:
            await socket.connect_async()
            log.info("slack: connected in Socket Mode")
        except Exception:
            log.exception("slack: Socket Mode connection failed; check app_token")

    async def stop(self) -> None:
        if self._connecting is not None and not self._connecting.done():
            await cancel_and_wait(self._connecting)
        if self._socket is not None:
            await self._socket.close_async()
        if self.workspace is not None:
            await self.workspace.stop()
        if self._local is not None:
            await self._local.close()
        session = getattr(self.client, "session", None)
        if session is not None:
            await session.close()

    # --- inbound -------------------------------------------------------------------
    def _options(self, context: AsyncBoltContext | None) -> Options:
        s = self.settings
        return Options(bot_user_id=(context and context.bot_user_id) or "",
                       team_id=(context and context.team_id) or "",
                       shared_channels=frozenset(s.shared_channels),
                       agents_channel=s.agents_channel, customers=s.customers,
                       ignore_own_team_in_shared=s.ignore_own_team_in_shared)

    async def _on_event(self, body: dict[str, Any], context: AsyncBoltContext) -> None:
        options = self._options(context)
        if context.bot_user_id:
            self._event_options = options  # from now on events can skip bolt (fast_events)
        await self._on_event_with(body, options)

    async def _on_event_with(self, body: dict[str, Any], options: Options,
                             raw: bytes = b"") -> None:
        """`raw`: the request body as it came (the fast path has it), kept for storing."""
        await self._handle(parse_event(body, options), body, options, raw)

    async def _on_action(self, body: dict[str, Any], context: AsyncBoltContext) -> None:
        await self._handle(parse_action(body, self._options(context)), body)

    async def _handle(self, parsed: Parsed, body: dict[str, Any],
                      event_options: Options | None = None, raw: bytes = b"") -> None:
        """`event_options`: `body` is an Events API callback parsed with these options (a
        customer message in it goes to the inbox raw)."""
        if isinstance(parsed, Ignored):
            log.debug("slack: ignored %s: %s", body.get("event_id", body.get("type")),
                      parsed.reason)
            return
        if isinstance(parsed, AgentReply | AgentButton):
            if self.agent_input is None:
                log.warning("slack: agents' channel input but no agents_channel is configured")
            elif isinstance(parsed, AgentReply):
                await self.agent_input.reply(parsed)
            else:
                await self.agent_input.button(parsed)
            return
        if isinstance(parsed, FollowUp):
            if not await self._known_thread(parsed.message.thread_key):
                log.debug("slack: thread reply outside a conversation ignored")
                return
            parsed = parsed.message
        await self._deliver(parsed, body, event_options, raw)

    async def _deliver(self, message: InboundMessage, body: dict[str, Any],
                       event_options: Options | None, raw: bytes = b"") -> None:
        if self._inbox is None:
            raise RuntimeError("slack adapter used before routes()/start()")
        if event_options is not None:
            # Raw: with acknowledge: stored the core stores the event and acknowledges;
            # decoding and the profile lookup (users.info, a network round trip per new
            # customer) wait for processing.
            ids = {"bot_user_id": event_options.bot_user_id, "team_id": event_options.team_id}
            # as JSON text when the body's bytes are at hand: one object while it waits
            payload: dict[str, Any] | bytes = (
                orjson.dumps({**ids, "body": orjson.Fragment(raw)}) if raw
                else {**ids, "body": body})
            result = await self._inbox.receive(UnparsedInbound(CHANNEL, message.external_id,
                                                               payload))
        else:  # a button press: decoded here (interactivity payloads are not kept raw)
            result = await self._inbox.receive_message(message)
        log.debug("slack: %s stored as message %s (duplicate: %s)", message.external_id,
                  result.message_id, result.duplicate)

    def decode(self, raw: UnparsedInbound) -> InboundMessage | None:
        """The customer message of an event handed over raw. The event was a customer
        message when it came (a thread reply's thread was known then); decoded again,
        perhaps after a reload changed the configuration, it is dropped with a warning if
        it no longer is one."""
        payload = orjson.loads(raw.payload) if isinstance(raw.payload, bytes) else raw.payload
        options = dataclasses.replace(self._options(None), bot_user_id=payload["bot_user_id"],
                                      team_id=payload["team_id"])
        parsed = parse_event(payload["body"], options)
        if isinstance(parsed, FollowUp):
            parsed = parsed.message
        if not isinstance(parsed, InboundMessage):
            log.warning("slack: event %s is not a customer message any more (%s)",
                        raw.external_id, type(parsed).__name__)
            return None
        return parsed

    async def enrich(self, message: InboundMessage) -> InboundMessage:
        """The sender's profile (users.info, cached, bounded by `profile_timeout`); an
        edit keeps the sender it has."""
        return message if message.kind == InboundKind.EDIT else await self._with_profile(message)

    async def processed(self, message: InboundMessage, result: IngestResult) -> None:
        if self.workspace is not None:
            self.workspace.wake()  # mirror the message into the agents' thread

    def _changed(self) -> None:
        """An agent acted: replies wait in the outbox, the root needs an update."""
        self.wake_outbox()
        if self.workspace is not None:
            self.workspace.wake()

    async def _with_profile(self, message: InboundMessage) -> InboundMessage:
        profile = await self.profiles.get(message.sender.external_id)
        if profile is None:
            return message
        sender = dataclasses.replace(
            message.sender, display_name=profile.name, username=profile.username,
            email=profile.email, language_hint=profile.locale,
            team=message.sender.team or profile.team, is_bot=profile.is_bot)
        return dataclasses.replace(message, sender=sender)

    async def _known_thread(self, thread_key: str) -> bool:
        """Whether a customer's Slack thread is already a conversation: the channel's own
        lookup (ChannelHost), not the agents' tools."""
        if self.host is None:
            return False
        return await self.host.conversation_for(thread_key) is not None

    # --- outbound ------------------------------------------------------------------
    async def send(self, message: OutboundMessage) -> SendResult:
        return SendResult(external_id=await self.poster.send(message))
