"""The widget's protocol end to end through a real service: session, hello, chat, history."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from yarl import URL

from channels.webchat import tokens
from channels.webchat.adapter import COOKIE, WebchatAdapter
from router.domain.model import OutboxStatus

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _session(http: aiohttp.ClientSession, base: str, **kw: Any) -> dict[str, Any]:
    async with http.post(f"{base}/chat/session", **kw) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()  # type: ignore[no-any-return]


async def _until(ws: aiohttp.ClientWebSocketResponse, kind: str, **match: Any) -> dict[str, Any]:
    """The next frame of `kind` (whose fields equal `match`), skipping others."""
    async with asyncio.timeout(10):
        while True:
            frame = await ws.receive_json()
            if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
                return frame  # type: ignore[no-any-return]


async def _hello(ws: aiohttp.ClientWebSocketResponse, token: str, after: int = 0) -> dict[str, Any]:
    await ws.send_json({"type": "hello", "token": token, "after": after, "lang": "sv-SE"})
    return await _until(ws, "welcome")


async def test_message_is_acknowledged_answered_and_deduplicated(webchat_service: Any) -> None:
    service = await webchat_service()
    base = f"http://127.0.0.1:{service.port}"
    async with aiohttp.ClientSession() as http:
        sess = await _session(http, base)
        async with http.ws_connect(f"{base}/chat/ws") as ws:
            welcome = await _hello(ws, sess["token"])
            assert welcome["visitor"] == sess["visitor"] and welcome["messages"] == []
            frame = {"type": "message", "id": "client-msg-0001", "text": "Hej!", "lang": "sv-SE"}
            await ws.send_json(frame)
            ack = await _until(ws, "ack", id="client-msg-0001")
            assert ack["duplicate"] is False and ack["message_id"]
            reply = await _until(ws, "message", author="bot")
            assert reply["text"] == "echo: Hej!" and reply["id"] > ack["message_id"]
            await ws.send_json(frame)  # a resend after a dropped connection
            again = await _until(ws, "ack", id="client-msg-0001")
            assert again["duplicate"] is True

    async def unit(tx):  # type: ignore[no-untyped-def]
        conv = await tx.find_conversation("webchat", [sess["visitor"]])
        contact = await tx.get_contact(conv.contact_id)
        return conv, contact, await tx.list_messages(conv.id)

    _conv, contact, messages = await service.store.read(unit)
    assert [m.text for m in messages] == ["Hej!", "echo: Hej!"]
    assert contact.language == "sv"
    assert messages[0].external_id == f"{sess['visitor']}:client-msg-0001"


async def test_reply_while_offline_arrives_as_history_on_reconnect(webchat_service: Any) -> None:
    service = await webchat_service()
    base = f"http://127.0.0.1:{service.port}"
    async with aiohttp.ClientSession() as http:
        sess = await _session(http, base)
        async with http.ws_connect(f"{base}/chat/ws") as ws:
            await _hello(ws, sess["token"])
            await ws.send_json({"type": "message", "id": "offline-0001", "text": "första"})
            first = await _until(ws, "message", author="bot")
        # the visitor is gone; the next reply is sent into the void but is in the store
        settled = asyncio.Event()
        service.dispatcher.on_settled = (
            lambda row, outcome: row.payload["author_kind"] == "agent" and settled.set())
        await service.store.write(lambda tx: _agent_reply(tx, sess["visitor"]))
        service.dispatcher.wake()
        async with asyncio.timeout(10):
            await settled.wait()
        assert not await service.store.read(lambda tx: tx.outbox_list([OutboxStatus.PENDING]))
        async with http.ws_connect(f"{base}/chat/ws") as ws:
            welcome = await _hello(ws, sess["token"], after=first["id"])
    assert [(m["author"], m["text"]) for m in welcome["messages"]] == [("agent", "Svar från Anna")]


async def _agent_reply(tx: Any, visitor: str) -> None:
    from router.domain.model import AuthorKind, ReplyContent
    from router.engine.effects import enqueue_reply
    from router.store.base import utcnow

    conv = await tx.find_conversation("webchat", [visitor])
    await enqueue_reply(tx, conv, ReplyContent(text="Svar från Anna"), utcnow(),
                        author_kind=AuthorKind.AGENT, author_id="anna", author_name="Anna")


async def test_session_cookie_keeps_the_visitor_and_forged_tokens_are_refused(
        webchat_service: Any) -> None:
    service = await webchat_service()
    base = f"http://127.0.0.1:{service.port}"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:  # an IP host
        first = await _session(http, base)
        assert http.cookie_jar.filter_cookies(URL(f"{base}/chat")).get(COOKIE) is not None
        again = await _session(http, base)  # no token in the body: the cookie says who
        assert again["visitor"] == first["visitor"]
        forged = tokens.issue("some-other-secret-0123456", first["visitor"])
        async with http.ws_connect(f"{base}/chat/ws") as ws:
            await ws.send_json({"type": "hello", "token": forged})
            err = await _until(ws, "error")
            assert err["code"] == "bad_token"
            assert (await ws.receive()).type == aiohttp.WSMsgType.CLOSE


async def test_other_origins_are_refused_but_allowed_embedders_are_not(webchat_service: Any) -> None:
    service = await webchat_service()
    base = f"http://127.0.0.1:{service.port}"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/chat/session", headers={"Origin": "http://evil.test"}) as r:
            assert r.status == 403
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await http.ws_connect(f"{base}/chat/ws", origin="http://evil.test")
        sess = await _session(http, base, headers={"Origin": "http://embed.test"})
        async with http.ws_connect(f"{base}/chat/ws", origin="http://embed.test") as ws:
            await _hello(ws, sess["token"])
        async with http.get(f"{base}/chat") as page:
            csp = page.headers["Content-Security-Policy"]
            assert "frame-ancestors 'self' http://embed.test" in csp
            assert "script-src 'self';" in csp


async def test_bad_frames_get_errors_not_a_crash(webchat_service: Any) -> None:
    service = await webchat_service()
    base = f"http://127.0.0.1:{service.port}"
    async with aiohttp.ClientSession() as http:
        sess = await _session(http, base)
        async with http.ws_connect(f"{base}/chat/ws") as ws:
            await _hello(ws, sess["token"])
            await ws.send_str("{not json")
            assert (await _until(ws, "error"))["code"] == "rejected"
            await ws.send_json({"type": "message", "id": "x", "text": "id too short"})
            assert (await _until(ws, "error"))["code"] == "rejected"
            await ws.send_json({"type": "message", "id": "toolong-0001", "text": "a" * 4001})
            err = await _until(ws, "error", id="toolong-0001")
            assert "longer than 4000" in err["message"]
            await ws.send_json({"type": "ping"})
            await _until(ws, "pong")


async def test_notify_reaches_open_widgets(webchat_service: Any) -> None:
    service = await webchat_service()
    adapter = service.channels["webchat"]
    assert isinstance(adapter, WebchatAdapter)
    base = f"http://127.0.0.1:{service.port}"
    async with aiohttp.ClientSession() as http:
        sess = await _session(http, base)
        assert await adapter.notify(sess["visitor"], "agent_joined", name="Anna") == 0
        async with http.ws_connect(f"{base}/chat/ws") as ws:
            await _hello(ws, sess["token"])
            assert await adapter.notify(sess["visitor"], "agent_typing", name="Anna") == 1
            event = await _until(ws, "event")
            assert event == {"type": "event", "event": "agent_typing", "name": "Anna"}
    with pytest.raises(ValueError, match="unknown webchat event"):
        await adapter.notify(sess["visitor"], "dance")


async def test_session_with_a_junk_body_gets_a_fresh_visitor(webchat_service: Any) -> None:
    service = await webchat_service()
    base = f"http://127.0.0.1:{service.port}"
    async with aiohttp.ClientSession() as http:
        for body in (b"\xff\xfe not utf-8", b"{not json", b'["a list"]'):
            data = await _session(http, base, data=body)
            assert data["visitor"].startswith(tokens.PREFIX)
