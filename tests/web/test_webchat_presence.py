"""Web chat presence (issue 28): a reply is broadcast to the other instances only when
one of them may hold a socket of the visitor. Adapters in one process over a real SQLite
store, their broadcasts carried by an in-memory bus (the PostgreSQL path is covered by
tests/store/test_multi_instance_webchat.py)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio

from channels.webchat.adapter import WebchatAdapter
from channels.webchat.presence import IDS_PER_MESSAGE, Presence
from channels.webchat.settings import WebchatSettings
from router.domain.model import AuthorKind, Contact, Conversation, Direction, Message, OutboundMessage
from router.engine.channel_host_store import StoreChannelHost
from router.store.base import Tx, utcnow
from router.store.sqlite import SqliteStore

WAIT = 10.0  # seconds a test waits for a frame before failing


class Bus:
    """What PostgreSQL's NOTIFY does for `broadcast`: every other host's callbacks get it.
    A host in `deaf` misses what is sent (its LISTEN connection is down)."""

    def __init__(self) -> None:
        self.hosts: list[BusHost] = []
        self.sent: list[tuple[BusHost, dict[str, Any]]] = []
        self.deaf: set[BusHost] = set()
        self.changed = asyncio.Condition()

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(predicate), WAIT)

    def frames_sent(self) -> list[dict[str, Any]]:
        return [p for _, p in self.sent if "frame" in p or "after" in p]


class BusHost(StoreChannelHost):
    def __init__(self, store: SqliteStore, bus: Bus) -> None:
        super().__init__(store, "webchat")
        self.bus = bus
        self.callbacks: list[Callable[[dict[str, Any]], None]] = []
        bus.hosts.append(self)

    async def broadcast(self, payload: dict[str, Any], *, prompt: bool = False) -> None:
        wire = json.dumps(payload)  # as the store carries it: JSON text
        self.bus.sent.append((self, payload))
        for host in self.bus.hosts:
            if host is not self and host not in self.bus.deaf:
                for callback in host.callbacks:
                    callback(json.loads(wire))
        async with self.bus.changed:
            self.bus.changed.notify_all()

    def on_broadcast(self, callback: Callable[[dict[str, Any]], None]) -> None:
        self.callbacks.append(callback)


class Socket:
    """What `Hub` needs of a visitor's WebSocket."""

    closed = False

    def __init__(self) -> None:
        self.frames: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def send_json(self, frame: dict[str, Any]) -> None:
        self.frames.put_nowait(frame)

    async def close(self, **_: Any) -> None:
        self.closed = True

    async def next(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.frames.get(), WAIT)


@pytest_asyncio.fixture
async def store(sqlite_store: SqliteStore) -> SqliteStore:
    return sqlite_store


@pytest_asyncio.fixture
async def world(store: SqliteStore) -> AsyncIterator[Callable[..., Any]]:
    bus = Bus()
    made: list[WebchatAdapter] = []

    async def instance(*, warm_up: float = 0.0, start: bool = True) -> WebchatAdapter:
        adapter = WebchatAdapter(settings=WebchatSettings(secret="s" * 32),
                                 host=BusHost(store, bus))
        adapter.presence.warm_up = warm_up
        adapter.bus = bus  # type: ignore[attr-defined]
        if start:
            await adapter.start(None)  # type: ignore[arg-type]
        made.append(adapter)
        return adapter

    yield instance
    for adapter in made:
        await adapter.stop()


def reply(visitor: str, message_id: int, text: str = "Vi har öppet 9-17.") -> OutboundMessage:
    return OutboundMessage(message_id, f"k{message_id}", "webchat", visitor, visitor, text,
                           message_id=message_id)


def host_of(adapter: WebchatAdapter) -> BusHost:
    assert isinstance(adapter.host, BusHost)
    return adapter.host


async def test_a_reply_to_a_visitor_held_only_here_is_not_broadcast(world: Any) -> None:
    a, b = await world(), await world()
    socket = Socket()
    await a.opened("v1", socket)
    await a.send(reply("v1", 1))
    assert (await socket.next())["id"] == 1
    assert a.bus.frames_sent() == []
    # b said nothing about v1 either way, and pushes nothing
    assert not b.presence.may_be_elsewhere("nobody")


async def test_a_second_tab_on_another_instance_gets_the_reply(world: Any) -> None:
    a, b = await world(), await world()
    on_a, on_b = Socket(), Socket()
    await a.opened("v1", on_a)
    await b.opened("v1", on_b)
    await a.send(reply("v1", 7))
    assert (await on_a.next())["id"] == 7
    assert (await on_b.next())["id"] == 7
    await b.send(reply("v1", 8))
    assert (await on_b.next())["id"] == 8
    assert (await on_a.next())["id"] == 8
    # b's last socket closes: a stops telling it
    await b.closed("v1", on_b)
    before = len(a.bus.frames_sent())
    await a.send(reply("v1", 9))
    assert (await on_a.next())["id"] == 9
    assert len(a.bus.frames_sent()) == before


async def test_a_visitor_held_nowhere_here_is_still_broadcast(world: Any) -> None:
    """An agent's reply sent by an instance with no socket of the visitor: whoever holds
    one pushes it, whether or not its `here` was heard."""
    a, b = await world(), await world()
    a.bus.deaf.add(host_of(b))
    on_a = Socket()
    await a.opened("v1", on_a)  # b did not hear it
    a.bus.deaf.clear()
    await b.send(reply("v1", 3))
    assert (await on_a.next())["id"] == 3


async def test_a_starting_instance_asks_who_holds_what(world: Any) -> None:
    a = await world()
    many = [f"visitor-{i}" for i in range(IDS_PER_MESSAGE + 5)]
    for visitor in many:
        await a.opened(visitor, Socket())
    c = await world()  # its `who` makes a list what it holds, in two messages
    await a.bus.wait_for(lambda: sum(1 for host, p in a.bus.sent
                                     if host is host_of(a) and "here" in p) >= len(many) + 2)
    assert all(c.presence.may_be_elsewhere(v) for v in many)
    assert not c.presence.may_be_elsewhere("someone-else")
    await a.stop()  # `bye`: c forgets a's visitors at once
    assert not any(c.presence.may_be_elsewhere(v) for v in many)


async def test_every_reply_is_broadcast_while_an_instance_warms_up(world: Any) -> None:
    a = await world(warm_up=3600.0)
    on_a = Socket()
    await a.opened("v1", on_a)
    await a.send(reply("v1", 4))
    assert (await on_a.next())["id"] == 4
    assert [p["frame"]["id"] for p in a.bus.frames_sent()] == [4]


async def test_a_new_tab_catches_up_on_a_reply_sent_before_its_here_arrived(
        world: Any, store: SqliteStore) -> None:
    """The one gap: b pushes a reply to its own socket of the visitor before it heard of
    a's new one. a reads the history again shortly after the socket opened."""
    a, b = await world(), await world()
    a.catch_up = 0.05
    now = utcnow()

    async def conversation(tx: Tx) -> int:
        contact = await tx.create_contact(Contact(0, "Kund"), now)
        conv = await tx.create_conversation(Conversation(0, contact, "webchat", "v1",
                                                         created_at=now, updated_at=now), ["v1"])
        await tx.insert_message(Message(0, conv, Direction.INBOUND, AuthorKind.CUSTOMER,
                                        "När har ni öppet?", now))
        return conv

    conv = await store.write(conversation)
    on_b = Socket()
    await b.opened("v1", on_b)  # a hears it: v1 may be elsewhere for a
    a.bus.deaf.add(host_of(b))  # ...but b misses a's `here`
    on_a = Socket()
    await a.opened("v1", on_a)
    welcome = await a.greet("v1", 0)
    assert [m["text"] for m in welcome["messages"]] == ["När har ni öppet?"]
    answer = await store.write(lambda tx: tx.insert_message(Message(
        0, conv, Direction.OUTBOUND, AuthorKind.BOT, "Vi har öppet 9-17.", utcnow())))
    await b.send(reply("v1", answer))
    assert (await on_b.next())["id"] == answer
    assert a.bus.frames_sent() == []  # b did not know
    caught = await on_a.next()
    assert (caught["id"], caught["text"]) == (answer, "Vi har öppet 9-17.")
    assert on_a.frames.empty()  # the welcome's message is not sent again


async def test_an_instance_alone_reads_a_new_sockets_history_once(world: Any) -> None:
    """Warming up (every reply broadcast), but nobody else ever spoke: no second read."""
    alone = await world(warm_up=3600.0)
    await alone.opened("v1", Socket())
    await alone.greet("v1", 0)
    assert alone._catching_up == {} and not alone.presence.peers_seen
    other = await world()  # its `who` is the first word from another instance
    assert alone.presence.peers_seen
    await other.opened("v2", Socket())
    await alone.opened("v2", Socket())
    await alone.greet("v2", 0)
    assert list(alone._catching_up) == ["v2"]


def test_presence_forgets_a_peer_that_stopped_saying_so() -> None:
    clock = [100.0]
    mine = Presence(clock=lambda: clock[0], forget_after=90.0, warm_up=0.0)
    theirs = Presence()
    assert mine.received(mine.who()) is False and not mine.peers_seen  # our own echo
    for message in theirs.here(["v1", "v2"]):
        assert mine.received(message) is False
    assert mine.may_be_elsewhere("v1") and mine.may_be_elsewhere("v2")
    mine.received(theirs.gone("v2"))
    assert not mine.may_be_elsewhere("v2")
    clock[0] += 91.0  # no repeat within forget_after: it died
    mine.forget_silent()
    assert not mine.may_be_elsewhere("v1")
    assert mine.received(theirs.who()) is True  # someone asks: answer
    assert mine.received(mine.who()) is False  # not our own question
    for junk in ({"here": "v1", "peer": "x"}, {"gone": [1], "peer": "x"}, {"here": ["v"]},
                 {"bye": 7}):
        assert mine.received(junk) is False  # malformed: ignored, no crash


@pytest.mark.parametrize("visitors", [0, 1, IDS_PER_MESSAGE, IDS_PER_MESSAGE + 1])
def test_presence_lists_fit_a_broadcast(visitors: int) -> None:
    ids = [f"v_{'x' * 22}{i:05d}" for i in range(visitors)]
    messages = list(Presence().here(ids))
    assert [v for m in messages for v in m["here"]] == ids
    assert all(len(json.dumps(m).encode()) < 7000 for m in messages)
