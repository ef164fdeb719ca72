"""Several followers of the agents' workspace (one per `serve` instance) on one store.

Each follower has its own cursor and sees every event, yet every handed-off
conversation gets exactly one root message: the root slot is claimed in the store before
posting. A claim left by a follower that died before recording its post expires and is
taken over; a live claim is respected.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from slack_sdk.web.async_client import AsyncWebClient

from channels.slack.workspace import ROOT_KEYS, ROOT_META, Workspace
from router.model import Contact, Conversation, Event, Status
from router.store import Store, Tx, utcnow
from router.store.base import ts
from router.store.postgres import PostgresStore
from router.store.sqlite import SqliteStore
from tests.channels.slack.conftest import AGENTS
from tests.channels.slack.fake_api import TOKEN, FakeSlackAPI
from tests.store.pg import fresh_schema, store_url

CONVERSATIONS = 20


@pytest_asyncio.fixture(params=["sqlite", "postgres"])
async def stores(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[list[Store]]:
    """Two stores on one database, as two instances have (SQLite: one shared store)."""
    if request.param == "sqlite":
        sqlite = SqliteStore(tmp_path / "router.db")
        await sqlite.open()
        yield [sqlite, sqlite]
        await sqlite.close()
        return
    async with fresh_schema() as (url, schema):
        pgs = [PostgresStore(store_url(url, schema)) for _ in range(2)]
        for pg in pgs:
            await pg.open()
        yield list(pgs)
        for pg in pgs:
            await pg.close()


def follower(api: FakeSlackAPI, store: Store, cursor: Path, **kw: Any) -> Workspace:
    client = AsyncWebClient(token=TOKEN, base_url=api.base_url)
    return Workspace(client=client, store=store, channel=AGENTS, cursor_path=cursor, **kw)


async def handed_off(store: Store, n: int, metadata: dict[str, Any] | None = None) -> list[int]:
    now = utcnow()

    async def unit(tx: Tx) -> list[int]:
        contact = await tx.create_contact(Contact(0, "Olga"), now)
        ids = []
        for i in range(n):
            cid = await tx.create_conversation(Conversation(
                0, contact, "loopback", f"t{i}", status=Status.QUEUED, queue="general",
                created_at=now, updated_at=now, queued_at=now, metadata=dict(metadata or {})))
            await tx.insert_event(Event(0, "handoff", now, conversation_id=cid, actor="bot"))
            ids.append(cid)
        return ids

    return await store.write(unit)


async def roots(store: Store, ids: list[int]) -> dict[int, Any]:
    async def unit(tx: Tx) -> dict[int, Any]:
        return {c.id: c.metadata.get(ROOT_META) for c in await tx.get_conversations(ids)}

    return await store.read(unit)


async def drain(*followers: Workspace) -> None:
    """Both followers catch up at the same time, racing on every event, until done."""
    while any(await asyncio.gather(*(f.catch_up() for f in followers))):
        pass


async def test_two_followers_post_each_root_once(stores: list[Store], slack_api: FakeSlackAPI,
                                                 tmp_path: Path):
    ids = await handed_off(stores[0], CONVERSATIONS)
    a = follower(slack_api, stores[0], tmp_path / "a.cursor")
    b = follower(slack_api, stores[1], tmp_path / "b.cursor")
    await drain(a, b)

    posted = slack_api.posted(AGENTS)
    assert len(posted) == CONVERSATIONS
    recorded = await roots(stores[0], ids)
    assert all(r is not None and "pending" not in r for r in recorded.values())
    stamps = {r["ts"] for r in recorded.values()}
    assert len(stamps) == CONVERSATIONS
    assert stamps == {c.result["ts"] for c in slack_api.called("chat.postMessage")}

    async def keys(tx: Tx) -> list[Conversation | None]:
        return [await tx.find_conversation(ROOT_KEYS, [f"{AGENTS}:{s}"]) for s in stamps]

    assert sorted(c.id for c in await stores[0].read(keys) if c) == sorted(ids)
    # a later state change is shown by an update, still no second root
    await drain(a, b)
    assert len(slack_api.posted(AGENTS)) == CONVERSATIONS


async def test_expired_claim_is_taken_over(stores: list[Store], slack_api: FakeSlackAPI,
                                           tmp_path: Path):
    """A follower died between claim and record: its stale claim does not block the root."""
    stale = {ROOT_META: {"pending": "dead", "claimed_at": ts(utcnow() - timedelta(minutes=5))}}
    ids = await handed_off(stores[0], 3, stale)
    a = follower(slack_api, stores[0], tmp_path / "a.cursor", pending_ttl=60)
    b = follower(slack_api, stores[1], tmp_path / "b.cursor", pending_ttl=60)
    await drain(a, b)
    assert len(slack_api.posted(AGENTS)) == 3
    assert all("ts" in r for r in (await roots(stores[0], ids)).values())


async def test_live_claim_is_respected_until_it_expires(stores: list[Store],
                                                        slack_api: FakeSlackAPI, tmp_path: Path):
    live = {ROOT_META: {"pending": "other", "claimed_at": ts(utcnow())}}
    ids = await handed_off(stores[0], 1, live)
    a = follower(slack_api, stores[0], tmp_path / "a.cursor", pending_ttl=30)
    await drain(a)
    assert slack_api.posted(AGENTS) == []  # the other follower is posting it
    assert list(a._deferred) == ids  # ... and it is looked at again later

    # the claimer died: once its claim is old, the running follower posts the root
    old = {"pending": "other", "claimed_at": ts(utcnow() - timedelta(seconds=31))}

    async def age(tx: Tx) -> None:
        conv = await tx.get_conversation(ids[0])
        assert conv is not None
        conv.metadata[ROOT_META] = old
        await tx.save_conversation(conv, utcnow())

    await stores[0].write(age)
    a._deferred[ids[0]] = 0.0  # due now (instead of waiting out pending_ttl)
    await a.start()
    try:
        await slack_api.wait_for(lambda api: len(api.posted(AGENTS)) == 1)
    finally:
        await a.stop()
    recorded = (await roots(stores[0], ids))[ids[0]]
    assert recorded is not None and "ts" in recorded
