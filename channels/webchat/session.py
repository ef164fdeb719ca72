"""One visitor WebSocket: hello (token) -> history -> chat frames until it closes.

The token arrives in the first frame rather than the URL, so it never lands in access
logs or proxy logs. Each chat frame is acknowledged only after the pipeline's commit,
so the widget keeps a message pending (and resends it, deduped by its id) until then.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from channels.webchat import protocol, tokens
from router.domain.errors import PayloadRejected, ServiceStopping
from router.ports.channel import ChannelInbox
from router.web import jsonbody

if TYPE_CHECKING:
    from channels.webchat.adapter import WebchatAdapter

log = logging.getLogger(__name__)

HELLO_TIMEOUT = 10.0
MAX_FRAME = 96 * 1024


class Bucket:
    """Token bucket: `rate` frames per `per` seconds, bursts up to `rate`."""

    def __init__(self, rate: int, per: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.per, self.clock = rate, per, clock
        self.tokens = float(rate)
        self.at = clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.rate, self.tokens + (now - self.at) * self.rate / self.per)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


async def _receive_json(ws: web.WebSocketResponse, wait: float | None = None) -> Any:
    """The next JSON frame; None when the socket closed. PayloadRejected on junk."""
    msg = await ws.receive(timeout=wait)
    if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
        return
    if msg.type != WSMsgType.TEXT:
        raise PayloadRejected("send JSON text frames")
    return jsonbody.loads(msg.data)  # PayloadRejected: malformed, too deep, out of range


async def visitor_socket(request: web.Request, adapter: WebchatAdapter,
                         inbox: ChannelInbox) -> web.StreamResponse:
    settings = adapter.settings
    ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=MAX_FRAME)
    await ws.prepare(request)
    try:
        hello = protocol.parse_hello(await _receive_json(ws, HELLO_TIMEOUT))
    except (TimeoutError, PayloadRejected) as exc:
        await ws.send_json(protocol.error_frame("hello_required", f"send a hello frame first: {exc}"))
        await ws.close(code=4400)
        return ws
    visitor = tokens.verify(settings.secret, hello.token, settings.visitor_ttl.total_seconds())
    if visitor is None:
        # the widget answers by fetching a fresh token from /chat/session
        await ws.send_json(protocol.error_frame("bad_token", "visitor token invalid or expired"))
        await ws.close(code=4401)
        return ws
    # register before reading history: a reply sent in between arrives twice (the widget
    # drops the copy by id) rather than never
    await adapter.opened(visitor.id, ws)
    try:
        await ws.send_json(await adapter.greet(visitor.id, hello.after))
        await _chat_loop(ws, adapter, inbox, visitor.id)
    except ConnectionResetError:
        log.info("webchat: visitor %s went away mid-frame", visitor.id)
    finally:
        await adapter.closed(visitor.id, ws)
    return ws


async def _chat_loop(ws: web.WebSocketResponse, adapter: WebchatAdapter, inbox: ChannelInbox,
                     visitor_id: str) -> None:
    bucket = Bucket(adapter.settings.rate_per_10s, 10.0)
    while not ws.closed:
        try:
            data = await _receive_json(ws)
        except PayloadRejected as exc:
            await ws.send_json(protocol.error_frame("rejected", exc.reason))
            continue
        if data is None:
            return
        kind = data.get("type") if isinstance(data, dict) else None
        if kind == "ping":
            await ws.send_json({"type": "pong"})
        elif kind in ("message", "quick_reply"):
            await _chat_frame(ws, adapter, inbox, visitor_id, data, bucket)
        else:
            await ws.send_json(protocol.error_frame("rejected", f"unknown frame type {kind!r}"))


async def _chat_frame(ws: web.WebSocketResponse, adapter: WebchatAdapter, inbox: ChannelInbox,
                      visitor_id: str, data: dict[str, Any],
                      bucket: Bucket) -> None:
    client_id = str(data.get("id", ""))[:64]
    if not bucket.take():
        await ws.send_json(protocol.error_frame("slow_down", "too many messages; wait a moment",
                                                client_id=client_id, retry=True))
        return
    try:
        inbound = protocol.parse_chat(data, visitor_id=visitor_id,
                                      max_text=adapter.settings.max_text)
        result = await inbox.receive_message(inbound)
    except PayloadRejected as exc:
        await ws.send_json(protocol.error_frame("rejected", exc.reason, client_id=client_id))
        return
    except ServiceStopping:
        await ws.send_json(protocol.error_frame("unavailable", "restarting; will resend",
                                                client_id=client_id, retry=True))
        return
    await ws.send_json({"type": "ack", "id": client_id, "message_id": result.message_id,
                        "duplicate": result.duplicate})
    if not result.duplicate and result.message_id is not None:
        # the visitor's other tabs show it too; this tab drops it by client id
        await adapter.push(visitor_id, {
            "type": "message", "id": result.message_id, "text": inbound.text,
            "author": "customer", "name": "", "client_id": client_id, "quick_replies": [],
            "at": protocol.iso(inbound.received_at)})
