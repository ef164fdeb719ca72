"""Web chat with several instances on one PostgreSQL database: a visitor's socket may be
held by another instance than the one that sends the reply (a load balancer without
sticky sessions, a second tab). The reply reaches every open socket of the visitor, live,
once each, including a reply too large for one broadcast (read from the store instead).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from channels.webchat.adapter import WebchatAdapter
from channels.webchat.settings import WebchatSettings
from router.engine.agents.auth import issue_token
from router.engine.channel_host_store import StoreChannelHost
from router.store.base import Tx, utcnow
from router.store.postgres import PostgresStore
from tests.store.instances import Instance
from tests.web.test_webchat_presence import Socket as FakeSocket
from tests.web.test_webchat_presence import reply

# several instances (or stores) on PostgreSQL, 11 connections each: under pytest-xdist
# these modules share one worker, so two of them never hold connections at once
pytestmark = pytest.mark.xdist_group("postgres-instances")

SECRET = "multi-instance-webchat-secret"


def config(pg_url: str) -> str:
    return f"""
storage: {{url: "{pg_url}"}}
channels:
  webchat: {{secret: "{SECRET}"}}
"""


class Socket:
    """One open widget: a socket on one instance, frames read as they come."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.n = 0

    @classmethod
    async def open(cls, http: aiohttp.ClientSession, instance: Instance, token: str) -> Socket:
        ws = await http.ws_connect(f"{instance.base}/chat/ws")
        await ws.send_json({"type": "hello", "token": token, "after": 0, "lang": "en"})
        socket = cls(ws)
        await socket.until("welcome")
        return socket

    async def until(self, kind: str, **match: Any) -> dict[str, Any]:
        async with asyncio.timeout(20):
            while True:
                frame = await self.ws.receive_json()
                if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
                    return frame  # type: ignore[no-any-return]

    async def say(self, text: str) -> None:
        self.n += 1
        cid = f"tab-{id(self) % 10_000:04d}-{self.n:04d}"
        await self.ws.send_json({"type": "message", "id": cid, "text": text, "lang": "en"})
        await self.until("ack", id=cid)

    async def nothing_more(self) -> list[dict[str, Any]]:
        """Frames that came after the ones read (a ping round trip bounds the wait)."""
        extra = []
        await self.ws.ping()
        while True:
            try:
                frame = await self.ws.receive_json(timeout=0.5)
            except TimeoutError:
                return extra
            extra.append(frame)


async def test_a_reply_reaches_the_visitors_sockets_on_every_instance(tmp_path: Path,
                                                                      pg_url: str) -> None:
    a, b = (Instance(tmp_path / name, config(pg_url)) for name in ("a", "b"))
    try:
        await asyncio.gather(a.start(), b.start())
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{a.base}/chat/session") as resp:
                assert resp.status == 200, await resp.text()
                token = (await resp.json())["token"]
            on_a, on_b = await Socket.open(http, a, token), await Socket.open(http, b, token)

            # written on B, answered and sent by B: A's socket gets it too, the same message
            await on_b.say("hello from the tab on B")
            here = await on_b.until("message", author="bot")
            there = await on_a.until("message", author="bot")
            assert here["text"] == there["text"] == "echo: hello from the tab on B"
            assert here["id"] == there["id"] and isinstance(here["id"], int)

            # and the other way round
            await on_a.say("hello from the tab on A")
            here = await on_a.until("message", author="bot")
            there = await on_b.until("message", author="bot")
            assert here["text"] == there["text"] == "echo: hello from the tab on A"

            # too large for one broadcast (7,000 bytes): A reads it from the store
            large = "\N{GRINNING FACE}" * 1900
            await on_b.say(large)
            here = await on_b.until("message", author="bot")
            there = await on_a.until("message", author="bot")
            assert there["text"] == here["text"] == f"echo: {large}"
            assert there["id"] == here["id"]
            # once each: nothing further on either socket but the visitor's own lines
            for socket in (on_a, on_b):
                assert [f for f in await socket.nothing_more()
                        if f.get("type") == "message" and f.get("author") == "bot"] == []
    finally:
        await asyncio.gather(a.stop(), b.stop())


def config_with_agent(pg_url: str) -> str:
    return config(pg_url) + "agents: {a0: {name: Anna, capacity: 10}}\n"


async def test_a_desk_signal_reaches_the_visitor_once(tmp_path: Path, pg_url: str) -> None:
    """Every instance's desk follower signals the visitors connected to it; none of them
    also broadcasts it, or the visitor's widget said "Anna joined" once per instance."""
    instances = [Instance(tmp_path / name, config_with_agent(pg_url)) for name in "abc"]
    a, b = instances[0], instances[1]
    store = PostgresStore(pg_url)
    await store.open()
    try:
        await asyncio.gather(*(i.start() for i in instances))
        now = utcnow()

        async def agent(tx: Tx) -> str:
            await tx.set_agent_online("a0", True, now)
            return await issue_token(tx, "a0", now)

        token = await store.write(agent)
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{a.base}/chat/session") as resp:
                session = await resp.json()
            on_a = await Socket.open(http, a, session["token"])
            await on_a.say("hello, is anyone there?")
            await on_a.until("message", author="bot")
            conv = await store.read(lambda tx: tx.find_conversation("webchat",
                                                                    [session["visitor"]]))
            assert conv is not None
            async with http.post(f"{b.base}/api/v1/conversations/{conv.id}/claim",
                                 headers={"Authorization": f"Bearer {token}"}) as resp:
                assert resp.status == 200, await resp.text()
            joined = await on_a.until("event", event="agent_joined")
            assert joined["name"] == "Anna"
            assert [f for f in await on_a.nothing_more() if f.get("type") == "event"] == []
    finally:
        await asyncio.gather(*(i.stop() for i in instances))
        await store.close()


async def test_presence_travels_by_notify_and_spares_the_broadcast(pg_url: str) -> None:
    """Two instances' adapters over PostgreSQL (issue 28): a reply to a visitor whose only
    socket is on the sending instance is not broadcast; once the visitor opens a tab on
    the other instance, its `here` arrives by NOTIFY and replies are broadcast to it."""
    stores = [PostgresStore(pg_url), PostgresStore(pg_url)]
    adapters = []
    heard: dict[int, asyncio.Queue[dict[str, Any]]] = {0: asyncio.Queue(), 1: asyncio.Queue()}
    try:
        for i, store in enumerate(stores):
            await store.open()
            adapter = WebchatAdapter(settings=WebchatSettings(secret=SECRET),
                                     host=StoreChannelHost(store, "webchat"))
            adapter.presence.warm_up = 0.0
            # after the adapter's own callback: what it has taken in, in order
            store.on_broadcast("webchat", lambda p, i=i: heard[i].put_nowait(json.loads(p)))
            await adapter.start(None)  # type: ignore[arg-type]
            adapters.append(adapter)
        a, b = adapters

        async def next_heard(i: int, key: str) -> dict[str, Any]:
            async with asyncio.timeout(20):
                while key not in (payload := await heard[i].get()):
                    pass
                return payload

        on_a = FakeSocket()
        await a.opened("v1", on_a)
        assert (await next_heard(1, "here"))["here"] == ["v1"]
        await a.send(reply("v1", 1))
        assert (await on_a.next())["id"] == 1
        await stores[0].broadcast("webchat", '{"marker": 1}', prompt=True)
        seen = []
        async with asyncio.timeout(20):
            while "marker" not in (payload := await heard[1].get()):
                seen.append(payload)
        assert [p for p in seen if "frame" in p] == []  # nothing to push there: not sent

        on_b = FakeSocket()
        await b.opened("v1", on_b)
        assert (await next_heard(0, "here"))["here"] == ["v1"]
        await a.send(reply("v1", 2))
        assert (await on_a.next())["id"] == 2
        assert (await on_b.next())["id"] == 2
    finally:
        for adapter in adapters:
            await adapter.stop()
        for store in stores:
            await store.close()
