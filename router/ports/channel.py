"""The one small interface every channel implements.

A channel turns platform input into `InboundMessage`s and hands each to the `Intake`,
which returns only after the message is durably stored (so the adapter acknowledges the
platform after the commit, never before). Outbound, the outbox dispatcher calls `send`;
a `ChannelError` says whether to retry (and after how long) or give up.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from router.domain.model import InboundMessage, OutboundMessage, UnparsedInbound
from router.ports.channel_host import ChannelHost
from router.ports.channel_state import ChannelState

if TYPE_CHECKING:
    from router.ports.agent_tools import AgentTools
    from router.web.metrics import Metrics


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What the pipeline did with one inbound message."""

    duplicate: bool
    message_id: int | None
    conversation_id: int | None
    ignored: str = ""  # non-empty: why nothing was stored (e.g. "edit of unknown message")
    # stored for processing later (acknowledge: stored): no message or conversation yet
    accepted: bool = False


Intake = Callable[[InboundMessage], Awaitable[IngestResult]]
AcceptUnparsed = Callable[[UnparsedInbound], Awaitable[IngestResult]]


@dataclass(frozen=True, slots=True)
class SendResult:
    external_id: str = ""
    # keys under which later inbound replies find this conversation (e.g. our Message-ID)
    thread_keys: tuple[str, ...] = ()


class ChannelAdapter(ABC):
    """Base class of channel adapters (email, telegram, slack, webchat, loopback)."""

    #: the channel name stored on messages and used as the outbox route
    name: str = ""
    #: a webhook-like channel whose intake may acknowledge once a message is stored and
    #: process it afterwards (service.acknowledge); such a channel does what needs the
    #: stored message's ids in `after_processing`, which runs in both modes
    deferrable: bool = False
    #: set by the service when this deferrable channel acknowledges once stored: stores
    #: a payload unparsed, and `parse_accepted` turns it into a message when processed
    accept_unparsed: AcceptUnparsed | None = None

    async def start(self, intake: Intake) -> None:  # noqa: B027 - optional hook
        """Begin receiving (polling, IMAP IDLE...). Webhook channels use `routes`."""

    async def stop(self) -> None:  # noqa: B027 - optional hook
        """Stop receiving and release connections."""

    def routes(self, intake: Intake) -> Sequence[web.RouteDef]:
        """HTTP routes (webhooks) this channel adds to the service's app."""
        return ()

    async def after_processing(self, message: InboundMessage,  # noqa: B027 - optional hook
                               result: IngestResult) -> None:
        """Called once a new message has been processed (its ids are known)."""

    async def parse_accepted(self, item: UnparsedInbound) -> InboundMessage | None:
        """The message in a payload this channel accepted unparsed; None when it holds
        nothing to process (ignored or rejected, logged here). Raising marks it failed.
        It may wait (a profile lookup); messages are still processed in arrival order."""
        raise NotImplementedError(f"channel {self.name} accepts no unparsed payloads")

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
    # The channel's own state (issue 25), by channel name: `ctx.state_for("email")`. Kept
    # in the store, shared by every instance on its database, erased with the contact.
    # None where no store is given (a channel built alone in a test).
    state_for: Callable[[str], ChannelState] | None = None
    # The core as the channel sees it (issue 25), by channel name: lookups, reachability,
    # attachment outcomes and `host.state` (router/ports/channel_host.py). None where no store
    # is given; a channel then works without what needs the store.
    host_for: Callable[[str], ChannelHost] | None = None
