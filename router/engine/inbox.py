"""The core's side of `ChannelInbox`: when a channel's input is decoded (issue 25).

A channel hands raw input (`receive`) or a message it decoded itself
(`receive_message`); `CoreInbox` decides the rest. Given `accept` (the channel is
deferrable and `service.acknowledge` is `stored`), input is stored as it came and the
call returns once that is durable; the backlog decodes and enriches raw input later with
`decoded`. Without it, raw input is decoded and enriched, and the message processed,
before the call returns. Either way the channel acknowledges after the call.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from router.domain.model import Accepted, InboundMessage, UnparsedInbound
from router.ports.channel import ChannelAdapter, ChannelInbox, IngestResult

log = logging.getLogger(__name__)

Ingest = Callable[[InboundMessage], Awaitable[IngestResult]]
Accept = Callable[[Accepted], Awaitable[IngestResult]]
NOTHING = IngestResult(duplicate=False, message_id=None, conversation_id=None,
                       ignored="nothing to process")


async def decoded(adapter: ChannelAdapter, raw: UnparsedInbound) -> InboundMessage | None:
    """`raw`'s message, enriched; None when it holds nothing to process (logged)."""
    message = adapter.decode(raw)
    if message is None:
        log.debug("%s %s: nothing to process", raw.channel, raw.external_id)
        return None
    if (message.channel, message.external_id) != (raw.channel, raw.external_id):
        raise ValueError(f"decoded message has key {message.channel} {message.external_id}, "
                         f"not {raw.channel} {raw.external_id}")
    return await adapter.enrich(message)


class CoreInbox(ChannelInbox):
    def __init__(self, adapter: ChannelAdapter, *, ingest: Ingest,
                 accept: Accept | None = None) -> None:
        """`ingest` stores and processes a message in one commit; `accept`, when given,
        stores input for the backlog (acknowledge once stored)."""
        self.adapter = adapter
        self.ingest = ingest
        self.accept = accept

    @property
    def deferring(self) -> bool:
        """Whether input is acknowledged once stored and decoded afterwards."""
        return self.accept is not None

    async def receive(self, raw: UnparsedInbound) -> IngestResult:
        if self.accept is not None:
            return await self.accept(raw)
        message = await decoded(self.adapter, raw)
        return NOTHING if message is None else await self.ingest(message)

    async def receive_message(self, message: InboundMessage) -> IngestResult:
        message = await self.adapter.enrich(message)
        if self.accept is not None:
            return await self.accept(message)
        return await self.ingest(message)
