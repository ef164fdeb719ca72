"""Delivery of rules' `webhook` actions and of outgoing webhooks: a JSON POST, retried
through the outbox.

Rows of a configured endpoint (issue 27: metadata `endpoint`, see
router/engine/integrations/webhooks/) are signed with the endpoint's secret at each attempt
(`X-Router-Timestamp`, `X-Router-Signature: v1=...`) and go to the endpoint's current
`url`; rows of a rules' action go to their own `recipient` unsigned, as before. Either way
the row's idempotency key goes along (`Idempotency-Key`), 429 and 503 answers are
retried after their `Retry-After`, other 4xx answers fail for good, and neither the
secret nor the body is ever logged or kept in an error.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import orjson

from router.domain.errors import ChannelError, ChannelRateLimited
from router.domain.model import OutboundMessage
from router.engine.integrations.webhooks import signing
from router.engine.integrations.webhooks.settings import WebhookEndpoint
from router.ports.channel import ChannelAdapter, SendResult

USER_AGENT = "inquiry-router-webhooks/1"
RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})


class WebhookChannel(ChannelAdapter):
    name = "webhook"

    def __init__(self, *, timeout: float = 10.0,
                 endpoints: Mapping[str, WebhookEndpoint] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.timeout = timeout
        self.endpoints = dict(endpoints or {})
        self.clock = clock
        self._session: aiohttp.ClientSession | None = None

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._session

    async def send(self, message: OutboundMessage) -> SendResult:
        meta = message.metadata or {}
        if meta.get("endpoint"):
            return await self._signed(message, meta)
        if not message.recipient:  # emptied by erasure (router/store/sql_privacy.py)
            raise ChannelError("nothing to send: the row was emptied (contact erased)",
                               permanent=True)
        body = meta.get("json")
        try:
            async with self._client().post(message.recipient, data=orjson.dumps(body or {}),
                                           headers={"Content-Type": "application/json",
                                                    "Idempotency-Key": message.idempotency_key},
                                           ) as resp:
                _check(resp)
                return SendResult()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ChannelError(f"cannot reach webhook: {exc.__class__.__name__}") from None

    async def _signed(self, message: OutboundMessage, meta: Mapping[str, Any]) -> SendResult:
        name = str(meta["endpoint"])
        endpoint = self.endpoints.get(name)
        if endpoint is None or not endpoint.enabled:
            raise ChannelError(f"webhook endpoint '{name}' is not configured (or not enabled) "
                               "any more", permanent=True)
        envelope = meta.get("json")
        if not envelope:
            raise ChannelError("nothing to send: the row was emptied (contact erased)",
                               permanent=True)
        body = orjson.dumps(envelope)
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
                   "Idempotency-Key": message.idempotency_key,
                   "X-Router-Event": str(meta.get("event", "")),
                   **signing.headers(endpoint.secret, body, self.clock())}
        try:
            async with self._client().post(
                    endpoint.url, data=body, headers=headers, allow_redirects=False,
                    timeout=aiohttp.ClientTimeout(total=endpoint.timeout.total_seconds())) as resp:
                _check(resp)
                return SendResult(external_id=f"HTTP {resp.status}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ChannelError(f"cannot reach webhook '{name}': {exc.__class__.__name__}") from None


def _check(resp: aiohttp.ClientResponse) -> None:
    """Raise for an answer that is not a success: retryable or permanent."""
    if resp.status < 300:
        return
    retry_after = _retry_after(resp.headers.get("Retry-After"))
    if resp.status == 429:
        raise ChannelRateLimited("HTTP 429", retry_after if retry_after is not None else 1.0)
    if resp.status in RETRYABLE:
        raise ChannelError(f"HTTP {resp.status}", retry_after=retry_after)
    if 300 <= resp.status < 400:
        raise ChannelError(f"HTTP {resp.status}: the endpoint redirects; configure the address "
                           "it redirects to", permanent=True)
    raise ChannelError(f"HTTP {resp.status}", permanent=400 <= resp.status < 500)


def _retry_after(value: str | None) -> float | None:
    """`Retry-After` as seconds: a number, or an HTTP date (RFC 9110)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None
