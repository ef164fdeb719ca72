"""The one small interface every channel implements, and the inbox the core hands it.

A channel is `name`, `start(inbox)`, `stop()`, `routes(inbox)`, a pure `decode(raw)`, an
optional `enrich(message)` and `processed(message, result)`, and `send(message)`. It
hands platform input to its `ChannelInbox`, which returns only once the input is durably
stored (so the adapter acknowledges the platform after the commit, never before):

- `inbox.receive(raw)`: the platform's payload under its dedupe key, as it came. The core
  decides when it is decoded: for a `deferrable` channel with `service.acknowledge:
  stored` the payload is stored as it is and `receive` returns; `decode` and `enrich` run
  later, when the backlog processes it (so the platform's validation and a profile lookup
  are not paid before the acknowledgement). Otherwise `receive` decodes, enriches and
  processes the message before it returns.
- `inbox.receive_message(message)`: input the channel has already turned into a message
  (a mail after its MIME parse, a web chat frame, a loopback payload validated before it
  is answered). The core enriches it and, as for `receive`, stores it for later or
  processes it before returning.

Outbound, the outbox dispatcher calls `send`; a `ChannelError` says whether to retry
(and after how long) or give up.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from router.domain.model import InboundMessage, OutboundMessage, UnparsedInbound
from router.ports.channel_host import ChannelHost

if TYPE_CHECKING:
    from router.ports.agent_tools import AgentTools
    from router.web.metrics import Metrics


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What the core did with one inbound message."""

    duplicate: bool
    message_id: int | None
    conversation_id: int | None
    ignored: str = ""  # non-empty: why nothing was stored (e.g. "edit of unknown message")
    # stored for processing later (acknowledge: stored): no message or conversation yet
    accepted: bool = False


@dataclass(frozen=True, slots=True)
class SendResult:
    external_id: str = ""
    # keys under which later inbound replies find this conversation (e.g. our Message-ID)
    thread_keys: tuple[str, ...] = ()


class ChannelInbox(ABC):
    """The core's intake as one channel sees it (made by the core per adapter).

    Both calls return after the input's commit and raise when it could not be stored
    (`ServiceStopping` while the service shuts down): the channel then does not
    acknowledge, and the platform delivers again (the inbox key makes that harmless).
    """

    @abstractmethod
    async def receive(self, raw: UnparsedInbound) -> IngestResult:
        """Raw input: stored as it is when this channel acknowledges once stored
        (`accepted`), else decoded, enriched and processed now. When `decode` finds
        nothing to process, the result is `ignored` and nothing is stored."""

    @abstractmethod
    async def receive_message(self, message: InboundMessage) -> IngestResult:
        """A message the channel decoded itself: enriched, then stored for later
        (`accepted`) or processed now, as for `receive`."""


class ChannelAdapter(ABC):
    """Base class of channel adapters (email, telegram, slack, webchat, loopback), and of
    outbound-only routes of the outbox (outgoing webhooks, CRM sync), which need `send`."""

    #: the channel name stored on messages and used as the outbox route
    name: str = ""
    #: a webhook-like channel the core may acknowledge once its input is stored and
    #: process afterwards (service.acknowledge: stored); such a channel does what needs
    #: the stored message's ids in `processed`, which runs in both modes
    deferrable: bool = False

    async def start(self, inbox: ChannelInbox) -> None:  # noqa: B027 - optional hook
        """Begin receiving (polling, IMAP IDLE...). Webhook channels use `routes`."""

    async def stop(self) -> None:  # noqa: B027 - optional hook
        """Stop receiving and release connections."""

    def routes(self, inbox: ChannelInbox) -> Sequence[web.RouteDef]:
        """HTTP routes (webhooks) this channel adds to the service's app."""
        return ()

    def decode(self, raw: UnparsedInbound) -> InboundMessage | None:
        """The message in raw input this channel handed to `inbox.receive`; None when it
        holds nothing to process (logged here). Pure: no I/O (that is `enrich`), so the
        core may run it before or after the acknowledgement, on any instance. The
        message keeps the raw input's `(channel, external_id)`. Raising marks the stored
        input failed (or, before the acknowledgement, fails the delivery)."""
        raise NotImplementedError(f"channel {self.name} hands over messages, not raw input")

    async def enrich(self, message: InboundMessage) -> InboundMessage:
        """The message with what only I/O adds (a sender's profile), run by the core
        right before the message is processed or stored as a message. Must not fail
        the message: on a timeout or error, return it as it is."""
        return message

    async def processed(self, message: InboundMessage,  # noqa: B027 - optional hook
                        result: IngestResult) -> None:
        """Called once a new message has been processed (its ids are known), in both
        acknowledgement modes; a failure here is logged, the message stays processed."""

    @abstractmethod
    async def send(self, message: OutboundMessage) -> SendResult:
        """Deliver one outbound message; raise ChannelError on failure."""


@dataclass(frozen=True, slots=True)
class ChannelContext:
    """What the service hands a channel factory besides the channel's own settings."""

    data_dir: Path
    public_url: str = ""
    metrics: Metrics | None = None  # count rejections: metrics.rejected.labels(ch, why).inc()
    # The agent desk as agent tools see it (router.ports.agent_tools.AgentTools) once the
    # service has built it, else None: channels where agents work (Slack threads) act and
    # follow its events through it. A provider, because channels are built before the desk.
    agent_tools: Callable[[], AgentTools | None] = field(default=lambda: None)
    # Wakes the outbox dispatcher after a unit of work outside intake queued replies.
    wake_outbox: Callable[[], None] = field(default=lambda: None)
    # The core as the channel sees it (issue 25), by channel name: lookups, reachability,
    # attachment outcomes and `host.state`, the channel's own ChannelState (kept in the
    # store, shared by every instance on its database, erased with the contact;
    # router/ports/channel_host.py). None where no store is given (a channel built alone in
    # a test); a channel then works without what needs the store.
    host_for: Callable[[str], ChannelHost] | None = None
