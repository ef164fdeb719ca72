"""Text PostgreSQL cannot store (a NUL character) is refused at the edge, on both backends.

`"a\\u0000b"` is valid JSON, and SQLite keeps it, but a PostgreSQL text column refuses it:
an agent's note with one was a 500, and a loopback message or a web chat frame with one
was acknowledged and then failed for good (found by fuzzing the web chat with any text
a customer may type, issue 22). Like a lone surrogate, it is now a 400 (or, for Telegram,
which resends whatever is refused, replaced by U+FFFD: tests/channels/telegram).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from tests.channels.fuzz import assert_nothing_failed
from tests.store.pg import fresh_schema, store_url
from tests.web.conftest import WEBCHAT_SECRET
from tests.web.test_webchat_socket import _hello, _session, _until

WEBCHAT = f"channels: {{loopback: {{}}, webchat: {{secret: {WEBCHAT_SECRET}}}}}\n"
NUL_TEXTS = ["a\x00b", "\x00", "hej\x00"]


@pytest_asyncio.fixture(params=["sqlite", "postgres"])
async def api(request: pytest.FixtureRequest, api_factory: Any, tmp_path: Path) -> AsyncIterator[Any]:
    if request.param == "sqlite":
        yield await api_factory(WEBCHAT)
        return
    async with fresh_schema() as (server, schema):
        made = await api_factory(WEBCHAT + f"storage: {{url: '{store_url(server, schema)}'}}\n")
        yield made
        await made.service.stop()


async def test_an_agent_note_with_a_nul_is_a_400(api: Any) -> None:
    cid = await api.customer()
    for text in NUL_TEXTS:
        status, answer = await api.call("POST", f"/conversations/{cid}/note", json={"text": text})
        assert status == 400 and "NUL" in answer["error"]["message"], answer
    status, _ = await api.call("POST", f"/conversations/{cid}/note", json={"text": "ok"})
    assert status == 200


async def test_a_loopback_message_with_a_nul_is_refused_not_acknowledged(api: Any) -> None:
    url = f"http://127.0.0.1:{api.service.port}/webhooks/loopback"
    for n, text in enumerate(NUL_TEXTS):
        body = {"id": f"nul-{n}", "thread": "t1", "from": "ulla", "text": text}
        async with api.http.post(url, json=body) as resp:
            assert resp.status == 400, await resp.text()
    async with api.http.post(url, json={"id": "m1", "thread": "t1", "from": "u\x00"}) as resp:
        assert resp.status == 400
    await assert_nothing_failed(api.service)


async def test_a_web_chat_frame_with_a_nul_gets_an_error_frame(api: Any) -> None:
    base = f"http://127.0.0.1:{api.service.port}"
    async with aiohttp.ClientSession() as http:
        sess = await _session(http, base)
        async with http.ws_connect(f"{base}/chat/ws") as ws:
            await _hello(ws, sess["token"])
            for n, text in enumerate(NUL_TEXTS):
                await ws.send_json({"type": "message", "id": f"nul-msg-{n:04d}", "text": text})
                error = await _until(ws, "error")
                assert error["code"] == "rejected" and "NUL" in error["message"], error
            await ws.send_json({"type": "message", "id": "fine-msg-0001", "text": "hej"})
            assert (await _until(ws, "ack"))["duplicate"] is False
    await assert_nothing_failed(api.service)
