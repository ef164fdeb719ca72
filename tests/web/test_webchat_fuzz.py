"""Hypothesis-mutated web chat frames through the real session and WebSocket path (issue 22).

The service runs the shipped rules and bots. The frames are the ones the widget sends
(channels/webchat/static/chat.js), mutated as in tests/channels/fuzz.py. A mutated `hello`
opens a socket of its own, as a widget does; every other frame goes over one signed-in
socket, and so do well-formed messages carrying any text a customer may type
(tests/channels/fuzz.py: TEXTS). Must hold: every frame gets its answer (`welcome`, `ack`,
`pong` or an `error` frame) and the server never drops the socket, nothing is logged as
an error, and what was acknowledged is stored as it was sent and processed (the web chat
acknowledges after the commit).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from router.wiring import build_decide
from tests.channels.fuzz import (
    TEXTS,
    assert_nothing_failed,
    collect,
    errors_logged,
    examples,
    shipped_config,
)
from tests.fuzz_counts import count
from tests.web.conftest import WEBCHAT_SECRET
from tests.web.test_webchat_socket import _hello, _session

TARGET = "webchat"
TEXT_EXAMPLES = 100  # well-formed messages with what a customer may type, beside the mutations
ANSWERS = {"welcome", "ack", "pong", "error"}
TOKEN = "<token>"  # replaced by a real visitor token before sending
FRAMES: list[dict[str, Any]] = [
    {"type": "hello", "token": TOKEN, "after": 0, "lang": "sv-SE"},
    {"type": "message", "id": "client-msg-0001", "text": "Hej! Var är min faktura?",
     "lang": "sv-SE"},
    {"type": "quick_reply", "id": "client-msg-0002", "payload": "topic:invoice",
     "label": "Faktura", "lang": "sv-SE"},
    {"type": "ping"},
]
# no burst guard here: every mutated frame should reach the parser, not `slow_down`
CONFIG = f"""
channels:
  webchat: {{secret: {WEBCHAT_SECRET}, rate_per_10s: 100000}}
"""


async def _answer(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any] | None:
    """The answer to the frame just sent (messages and events on the way skipped);
    None when the server closed the socket instead."""
    async with asyncio.timeout(10):
        while True:
            msg = await ws.receive()
            if msg.type != aiohttp.WSMsgType.TEXT:
                return None
            frame = json.loads(msg.data)
            if frame.get("type") in ANSWERS:
                return frame  # type: ignore[no-any-return]


def _with_token(value: Any, token: str) -> Any:
    if value == TOKEN:
        return token
    if isinstance(value, dict):
        return {k: _with_token(v, token) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_token(v, token) for v in value]
    return value


async def _send_hello(http: aiohttp.ClientSession, url: str, raw: str) -> dict[str, Any] | None:
    async with http.ws_connect(url) as ws:
        await ws.send_str(raw)
        return await _answer(ws)


async def test_mutated_webchat_frames(tmp_path: Any, start_service: Any, caplog: Any) -> None:
    config = shipped_config(tmp_path, CONFIG)
    service = await start_service(config, build_decide(config))
    base = f"http://127.0.0.1:{service.port}"
    url = f"{base}/chat/ws"
    acked: set[int] = set()
    problems: list[str] = []
    async with aiohttp.ClientSession() as http:
        sess = await _session(http, base)
        ws = await http.ws_connect(url)
        await _hello(ws, sess["token"])
        texts = [{"type": "message", "id": f"text-{n:05d}", "text": text, "lang": "sv-SE"}
                 for n, text in enumerate(examples(TEXTS, TEXT_EXAMPLES))]
        sent = {t["id"]: t["text"] for t in texts}
        for n, frame in enumerate(collect(FRAMES) + texts):
            if isinstance(frame.get("id"), str) and not frame["id"].startswith("text-"):
                frame["id"] = f"fuzz-{n:05d}"  # each a new message, not a resend
            raw = json.dumps(_with_token(frame, sess["token"]))
            if "token" in json.dumps(frame) or frame.get("type") == "hello":
                answer = await _send_hello(http, url, raw)
            else:
                await ws.send_str(raw)
                answer = await _answer(ws)
                if answer is None:  # dropped: go on over a fresh socket
                    ws = await http.ws_connect(url)
                    await _hello(ws, sess["token"])
            count(TARGET, 500 if answer is None else 400 if answer["type"] == "error" else 200)
            if answer is None:
                problems.append(f"no answer to {raw[:200]}")
            elif answer["type"] == "ack" and not answer["duplicate"]:
                acked.add(answer["message_id"])
        await ws.close()
    assert not problems, problems
    assert len(acked) >= TEXT_EXAMPLES // 2, len(acked)
    await assert_nothing_failed(service)

    async def stored(tx: Any) -> dict[int, tuple[str, str]]:
        conv = await tx.find_conversation("webchat", [sess["visitor"]])
        return {m.id: (m.external_id.split(":", 1)[1], m.text)
                for m in await tx.list_messages(conv.id) if m.author_kind == "customer"}

    kept = await service.store.read(stored)
    assert set(kept) == acked
    for client_id, text in kept.values():
        if client_id in sent:
            assert text == sent[client_id].strip(), client_id
    assert not errors_logged(caplog.records)
