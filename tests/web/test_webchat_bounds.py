"""Hostile web chat input (issue 22): a session body or WebSocket frame nested 10,000
deep, with integers beyond 64 bits or lone surrogates, gets an answer, never a 500 or a
dropped socket."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from channels.webchat import tokens
from tests.web.test_webchat_socket import _hello, _session, _until

pytestmark = pytest.mark.asyncio(loop_scope="session")

DEEP = "[" * 10_000 + "]" * 10_000
HOSTILE = [DEEP, '{"type":' * 10_000 + '"ping"' + "}" * 10_000,
           '{"type": "hello", "token": "x", "after": 1' + "0" * 30 + "}",
           '{"type": "message", "id": "client-msg-0002", "text": "a\\ud800b"}',
           '{"type": "message", "id": "client-msg-0003", "text": "x", "after": 1e999}']


async def test_hostile_session_bodies_get_a_fresh_visitor(webchat_service: Any) -> None:
    service = await webchat_service()
    base = f"http://127.0.0.1:{service.port}"
    async with aiohttp.ClientSession() as http:
        for body in HOSTILE:
            data = await _session(http, base, data=body.encode())
            assert data["visitor"].startswith(tokens.PREFIX)


async def test_hostile_frames_get_error_frames(webchat_service: Any) -> None:
    service = await webchat_service()
    base = f"http://127.0.0.1:{service.port}"
    async with aiohttp.ClientSession() as http:
        sess = await _session(http, base)
        async with http.ws_connect(f"{base}/chat/ws") as ws:  # hostile hello
            await ws.send_str(DEEP)
            assert (await _until(ws, "error"))["code"] == "hello_required"
        async with http.ws_connect(f"{base}/chat/ws") as ws:
            await _hello(ws, sess["token"])
            for frame in HOSTILE:
                await ws.send_str(frame)
                assert (await _until(ws, "error"))["code"] == "rejected", frame[:40]
            await ws.send_json({"type": "ping"})
            await _until(ws, "pong")
    await service.backlog.drained()
    assert service.backlog.failed == 0
