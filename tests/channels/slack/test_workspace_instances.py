"""Several followers of the agents' workspace (one per `serve` instance) on one database.

Each follower is the real `Workspace` over the desk's real `AgentTools` and the channel's
`ChannelState` in the store: one leads by a lease and posts, the others stand by. Every
root and every customer message is posted once, also when the leader dies holding its
lease (another takes over once it runs out) or stops (it hands the lease back); a
follower that lost its lease posts nothing. The Slack state of earlier versions (root in
the conversation's metadata, thread keys under `slack#agents`, a cursor file) is read
once, so an upgraded install keeps its threads.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from slack_sdk.web.async_client import AsyncWebClient

from channels.slack.threads import CURSOR
from channels.slack.workspace import LeaseLost, Workspace
from router.domain.model import AuthorKind, Contact, Conversation, Direction, Event, Message, Status
from router.engine.agents.desk import Desk
from router.engine.agents.desk_tools import DeskTools
from router.engine.agents.policy import DeskPolicy
from router.engine.privacy.scrub import PrivacyScrubber
from router.store import Store, Tx, utcnow
from router.store.channel_state import StoreChannelState
from router.store.postgres import PostgresStore
from router.store.sqlite import SqliteStore
from tests.channels.slack.conftest import AGENTS, settled
from tests.channels.slack.fake_api import TOKEN, FakeSlackAPI
from tests.store.pg import fresh_schema, store_url

# several instances (or stores) on PostgreSQL, 11 connections each: under pytest-xdist
# these modules share one worker, so two of them never hold connections at once
pytestmark = pytest.mark.xdist_group("postgres-instances")

CONVERSATIONS = 5
LEASE = 0.6  # seconds: a dead leader is replaced quickly


@pytest_asyncio.fixture(params=["sqlite", "postgres"])
async def stores(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[list[Store]]:
    """Three stores on one database, as three instances have (SQLite: one shared store)."""
    if request.param == "sqlite":
        sqlite = SqliteStore(tmp_path / "router.db")
        await sqlite.open()
        yield [sqlite] * 3
        await sqlite.close()
        return
    async with fresh_schema() as (url, schema):
        pgs = [PostgresStore(store_url(url, schema)) for _ in range(3)]
        for pg in pgs:
            await pg.open()
        yield list(pgs)
        for pg in pgs:
            await pg.close()


def follower(api: FakeSlackAPI, store: Store, name: str, **kw: Any) -> Workspace:
    """One instance's follower: its own Slack client, desk and state over `store`."""
    tools = DeskTools(Desk(store, DeskPolicy()))
    return Workspace(client=AsyncWebClient(token=TOKEN, base_url=api.base_url),
                     tools=lambda: tools, state=StoreChannelState(store, "slack"),
                     channel=AGENTS, poll_interval=0.05, instance=name,
                     lease=kw.pop("lease", LEASE), **kw)


async def handed_off(store: Store, n: int, metadata: dict[str, Any] | None = None) -> list[int]:
    """`n` waiting conversations, each with the customer's first message."""
    now = utcnow()

    async def unit(tx: Tx) -> list[int]:
        contact = await tx.create_contact(Contact(0, "Olga"), now)
        ids = []
        for i in range(n):
            cid = await tx.create_conversation(Conversation(
                0, contact, "loopback", f"t{i}", status=Status.QUEUED, queue="general",
                created_at=now, updated_at=now, queued_at=now, metadata=dict(metadata or {})))
            await _customer_says(tx, cid, f"first {i}")
            await tx.insert_event(Event(0, "handoff", now, conversation_id=cid, actor="bot"))
            ids.append(cid)
        return ids

    return await store.write(unit)


async def _customer_says(tx: Tx, conversation_id: int, text: str) -> None:
    now = utcnow()
    mid = await tx.insert_message(Message(0, conversation_id, Direction.INBOUND,
                                          AuthorKind.CUSTOMER, text, now))
    await tx.insert_event(Event(0, "message_received", now, conversation_id, "customer",
                                {"message_id": mid}))


async def customers_say(store: Store, ids: list[int], label: str) -> list[str]:
    """One more customer message in each conversation; their texts."""
    texts = [f"{label} {cid}" for cid in ids]

    async def unit(tx: Tx) -> None:
        for cid, text in zip(ids, texts, strict=True):
            await _customer_says(tx, cid, text)

    await store.write(unit)
    return texts


def roots(api: FakeSlackAPI) -> list[dict[str, Any]]:
    return [p for p in api.posted(AGENTS) if "thread_ts" not in p]


def in_threads(api: FakeSlackAPI) -> list[str]:
    return [p["text"] for p in api.posted(AGENTS) if "thread_ts" in p]


async def test_three_followers_post_each_root_and_message_once(
        stores: list[Store], slack_api: FakeSlackAPI):
    ids = await handed_off(stores[0], CONVERSATIONS)
    followers = [follower(slack_api, s, f"i{n}") for n, s in enumerate(stores)]
    for f in followers:
        await f.start()
    try:
        await slack_api.wait_for(lambda api: len(roots(api)) >= CONVERSATIONS)
        texts = await customers_say(stores[1], ids, "then")
        texts += await customers_say(stores[2], ids, "and")
        await slack_api.wait_for(lambda api: len(in_threads(api)) >= len(texts))
        await settled(*followers)
        assert len(roots(slack_api)) == CONVERSATIONS
        assert sorted(in_threads(slack_api)) == sorted(f"*Olga:* {t}" for t in texts)
        assert [f.leading for f in followers].count(True) == 1
        state = StoreChannelState(stores[0], "slack")
        last = (await stores[0].read(lambda tx: tx.list_events(after_id=0, limit=1000)))[-1]
        assert await state.get(CURSOR) == last.id
        stamps = {c.result["ts"] for c in slack_api.called("chat.postMessage")
                  if "thread_ts" not in c.params}
        recorded = await state.scan("root:")
        assert sorted(recorded) == sorted(f"root:{cid}" for cid in ids)
        assert {r["ts"] for r in recorded.values()} == stamps
        assert sorted((await state.scan("thread:")).values()) == sorted(ids)
    finally:
        for f in followers:
            await f.stop()


async def test_another_follower_takes_over_when_the_leader_dies_or_stops(
        stores: list[Store], slack_api: FakeSlackAPI):
    ids = await handed_off(stores[0], CONVERSATIONS)
    followers = [follower(slack_api, s, f"i{n}") for n, s in enumerate(stores)]
    for f in followers:
        await f.start()
    try:
        await slack_api.wait_for(lambda api: len(roots(api)) == CONVERSATIONS)
        await settled(*followers)
        (dead,) = [f for f in followers if f.leading]
        # killed: its task ends mid-life, the lease is not handed back
        assert dead._task is not None
        dead._task.cancel()
        await asyncio.gather(dead._task, return_exceptions=True)
        alive = [f for f in followers if f is not dead]
        texts = await customers_say(stores[0], ids, "after a crash")
        await slack_api.wait_for(lambda api: len(in_threads(api)) == len(texts))
        await settled(*alive)
        assert [f.leading for f in alive].count(True) == 1

        # stopped: it hands the lease back and the last one goes on from the same cursor
        (leader,) = [f for f in alive if f.leading]
        await leader.stop()
        (last,) = [f for f in alive if f is not leader]
        texts += await customers_say(stores[0], ids, "after a stop")
        await slack_api.wait_for(lambda api: len(in_threads(api)) == len(texts))
        await settled(last)
        assert last.leading
        assert sorted(in_threads(slack_api)) == sorted(f"*Olga:* {t}" for t in texts)
        assert len(roots(slack_api)) == CONVERSATIONS
    finally:
        for f in followers:
            if f._task is not None and not f._task.cancelled():
                await f.stop()


async def test_a_follower_that_lost_its_lease_posts_nothing(stores: list[Store],
                                                           slack_api: FakeSlackAPI):
    stalled = follower(slack_api, stores[0], "stalled")
    assert await stalled.lead()  # it leads ... and then hangs longer than its lease
    other = follower(slack_api, stores[1], "other")
    await other.start()
    try:
        async with other.synced:
            await asyncio.wait_for(other.synced.wait_for(lambda: other.leading), 10)
        await handed_off(stores[0], 1)
        with pytest.raises(LeaseLost):
            await stalled.catch_up()
        assert not stalled.leading
        await slack_api.wait_for(lambda api: len(roots(api)) == 1)
        await settled(other)
        assert len(roots(slack_api)) == 1  # posted by the leader only
        assert await StoreChannelState(stores[0], "slack").get(CURSOR) == other.cursor
    finally:
        await other.stop()


async def test_the_state_of_earlier_versions_is_read_once(stores: list[Store],
                                                          slack_api: FakeSlackAPI,
                                                          tmp_path: Path):
    """A root in the conversation's metadata, its thread key under `slack#agents` and the
    cursor file: no second root, the thread goes on, an agent's reply finds it."""
    old_root = {"channel": AGENTS, "ts": "1600000000.000100", "digest": "old"}
    (cid,) = await handed_off(stores[0], 1, {"slack_root": old_root})
    await stores[0].write(lambda tx: tx.add_thread_keys(
        "slack#agents", [f"{AGENTS}:{old_root['ts']}"], cid))
    events = await stores[0].read(lambda tx: tx.list_events(after_id=0, limit=100))
    cursor_file = tmp_path / "slack" / "workspace.cursor"
    cursor_file.parent.mkdir()
    cursor_file.write_text(str(events[-1].id))  # the old follower had applied all of them

    ws = follower(slack_api, stores[1], "new", legacy_cursor=cursor_file)
    assert await ws.threads.conversation_of(AGENTS, old_root["ts"]) == cid
    (text,) = await customers_say(stores[0], [cid], "after the upgrade")
    await ws.start()
    try:
        await slack_api.wait_for(lambda api: len(in_threads(api)) == 1)
        await settled(ws)
    finally:
        await ws.stop()
    assert roots(slack_api) == []
    assert [(p["thread_ts"], p["text"]) for p in slack_api.posted(AGENTS)] == [
        (old_root["ts"], f"*Olga:* {text}")]
    state = StoreChannelState(stores[0], "slack")
    assert (await state.get(f"root:{cid}"))["ts"] == old_root["ts"]
    assert await state.get(CURSOR) > events[-1].id


async def test_erasing_the_contact_removes_its_slack_state(stores: list[Store],
                                                           slack_api: FakeSlackAPI):
    ids = await handed_off(stores[0], 2)
    ws = follower(slack_api, stores[0], "i0")
    await ws.start()
    try:
        await slack_api.wait_for(lambda api: len(roots(api)) == 2)
        await settled(ws)
    finally:
        await ws.stop()
    state = StoreChannelState(stores[0], "slack")
    assert len(await state.scan("root:")) == len(await state.scan("thread:")) == 2
    conv = await stores[0].read(lambda tx: tx.get_conversation(ids[0]))
    assert conv is not None
    await stores[0].write(lambda tx: tx.erase_contacts([conv.contact_id], utcnow(),
                                                       PrivacyScrubber()))
    assert await state.scan("root:") == {} and await state.scan("thread:") == {}
    assert await state.get(CURSOR) is not None  # no person in it: kept
