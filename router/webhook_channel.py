"""Delivery of rules' `webhook` actions: a JSON POST, retried through the outbox."""

from __future__ import annotations

import aiohttp

from router.channel import ChannelAdapter, SendResult
from router.errors import ChannelError, ChannelRateLimited
from router.model import OutboundMessage


class WebhookChannel(ChannelAdapter):
    name = "webhook"

    def __init__(self, *, timeout: float = 10.0) -> None:
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(self, message: OutboundMessage) -> SendResult:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        body = message.metadata.get("json") if message.metadata else None
        try:
            async with self._session.post(message.recipient, json=body or {}, headers={
                    "Idempotency-Key": message.idempotency_key}) as resp:
                if resp.status < 300:
                    return SendResult()
                if resp.status == 429:
                    raise ChannelRateLimited("HTTP 429", float(resp.headers.get("Retry-After", "1")))
                raise ChannelError(f"HTTP {resp.status}", permanent=400 <= resp.status < 500)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ChannelError(f"cannot reach webhook: {exc.__class__.__name__}") from None
