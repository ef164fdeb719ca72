"""Loopback adapter: `POST /webhooks/loopback` in, JSON POST to `deliver_url` out.

A payload is validated into a message before it is answered (a malformed one gets a 400,
not an acknowledgement), so the loopback hands messages to its inbox, not raw input.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Sequence

import aiohttp
import orjson
from aiohttp import web

from channels.loopback.parse import parse_payload
from channels.loopback.settings import LoopbackSettings
from router.domain.errors import ChannelError, ChannelRateLimited, PayloadRejected
from router.domain.model import OutboundMessage
from router.ports.channel import ChannelAdapter, ChannelInbox, SendResult
from router.web.http_errors import json_error, read_json
from router.web.metrics import Metrics

log = logging.getLogger(__name__)


class LoopbackAdapter(ChannelAdapter):
    name = "loopback"

    deferrable = True

    def __init__(self, *, settings: LoopbackSettings, metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.metrics = metrics
        self._session: aiohttp.ClientSession | None = None

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()

    def routes(self, inbox: ChannelInbox) -> Sequence[web.RouteDef]:
        async def receive(request: web.Request) -> web.StreamResponse:
            if self.settings.token:
                given = request.headers.get("Authorization", "").removeprefix("Bearer ")
                if not hmac.compare_digest(given.encode(), self.settings.token.encode()):
                    return json_error(401, "unauthorized", "missing or wrong bearer token")
            try:
                message = parse_payload(await read_json(request))
            except PayloadRejected as exc:
                log.warning("loopback: rejected payload: %s", exc.reason)
                if self.metrics is not None:
                    self.metrics.rejected.labels("loopback", "too_large" if exc.status == 413
                                                 else "malformed").inc()
                return json_error(exc.status, "rejected", exc.reason)
            result = await inbox.receive_message(message)
            # accepted: stored and acknowledged, processed next (service.acknowledge:
            # stored), so there are no ids yet
            return web.json_response({"duplicate": result.duplicate,
                                      "accepted": result.accepted,
                                      "message_id": result.message_id,
                                      "conversation_id": result.conversation_id})

        return [web.post("/webhooks/loopback", receive)]

    async def send(self, message: OutboundMessage) -> SendResult:
        if not self.settings.deliver_url:
            # ids and sizes only at INFO: the text and thread may carry personal data (issue 13);
            # the line says where to read the reply instead
            log.info("loopback reply (outbox %s, %d chars); read it with: inquiry-router "
                     "conversations show %s", message.outbox_id, len(message.text),
                     message.conversation_id)
            log.debug("loopback reply to %s: %s", message.thread_key, message.text[:200])
            return SendResult(external_id=f"loopback-{message.outbox_id}")
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.settings.timeout))
        body = {
            "outbox_id": message.outbox_id, "thread": message.thread_key,
            "to": message.recipient, "text": message.text, "author_kind": str(message.author_kind),
            "author_name": message.author_name,
            "quick_replies": [{"label": q.label, "payload": q.payload}
                              for q in message.quick_replies],
        }
        try:
            # encoded by orjson, as the store and the signed webhooks encode, not by
            # aiohttp's `json=` (the standard library's encoder): 1.0 against 3.5 us a reply
            async with self._session.post(self.settings.deliver_url, data=orjson.dumps(body),
                                          headers={"Content-Type": "application/json",
                                                   "Idempotency-Key": message.idempotency_key},
                                          ) as resp:
                if resp.status < 300:
                    data = await resp.json(content_type=None, loads=orjson.loads)
                    return SendResult(external_id=str((data or {}).get("id", "")))
                if resp.status == 429:
                    retry = float(resp.headers.get("Retry-After", "1"))
                    raise ChannelRateLimited("HTTP 429 from loopback endpoint", retry)
                permanent = 400 <= resp.status < 500 and resp.status != 408
                raise ChannelError(f"HTTP {resp.status} from loopback endpoint",
                                   permanent=permanent)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ChannelError(f"cannot reach loopback endpoint: {exc.__class__.__name__}") from None
