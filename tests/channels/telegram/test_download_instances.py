"""Download jobs with several instances on one PostgreSQL store: one download per file.

Every instance looks for pending jobs when it starts; the lease claimed in the channel's
state before a download (`download:<message>:<index>`) makes exactly one of them fetch
each file. A lease left by an instance that died is taken over once it has expired, not
before; a lease of an older version (`download: running:<until>` on the attachment) is a
pending job.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from channels.telegram.download import Downloader
from channels.telegram.settings import DownloadSettings
from router.domain.model import AuthorKind, Contact, Conversation, Direction, Message
from router.engine.channel_host_store import StoreChannelHost
from router.store import Store, Tx, utcnow
from router.store.base import ts
from router.store.channel_state import StoreChannelState
from router.store.postgres import PostgresStore
from tests.channels.telegram.fake_api import TOKEN, FakeTelegramAPI
from tests.store.pg import fresh_schema, store_url

# several instances (or stores) on PostgreSQL, 11 connections each: under pytest-xdist
# these modules share one worker, so two of them never hold connections at once
pytestmark = pytest.mark.xdist_group("postgres-instances")

CHANNEL = "telegram:support"
FILES = 12


@pytest_asyncio.fixture
async def pg_stores() -> AsyncIterator[list[Store]]:
    async with fresh_schema() as (url, schema):
        stores = [PostgresStore(store_url(url, schema)) for _ in range(2)]
        for store in stores:
            await store.open()
        yield list(stores)
        for store in stores:
            await store.close()


async def messages_with_files(store: Store, states: list[str]) -> list[int]:
    """The messages' ids, one file each in the given download state."""
    now = utcnow()

    async def unit(tx: Tx) -> list[int]:
        contact = await tx.create_contact(Contact(0, "Olga"), now)
        conv = await tx.create_conversation(Conversation(
            0, contact, CHANNEL, "chat-1", created_at=now, updated_at=now))
        return [await tx.insert_message(Message(
            0, conv, Direction.INBOUND, AuthorKind.CUSTOMER, f"file {i}", now,
            external_id=f"m{i}",
            attachments=[{"kind": "document", "ref": f"file-{i}", "download": state}]))
            for i, state in enumerate(states)]

    return await store.write(unit)


async def states(store: Store) -> list[dict[str, Any]]:
    async def unit(tx: Tx) -> list[dict[str, Any]]:
        found = [await tx.find_message(CHANNEL, f"m{i}") for i in range(FILES)]
        return [m.attachments[0] for m in found if m is not None]

    return await store.read(unit)


def downloader(api: FakeTelegramAPI, store: Store, data_dir: Path, **kw: Any) -> Downloader:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api.base))
    return Downloader(settings=DownloadSettings(enabled=True, max_bytes=100_000),
                      channel=CHANNEL, bot=Bot(TOKEN, session=session),
                      host=StoreChannelHost(store, CHANNEL), data_dir=data_dir, **kw)


async def test_two_instances_download_each_file_once(pg_stores: list[Store],
                                                     fake_api: FakeTelegramAPI, tmp_path: Path):
    for i in range(FILES):
        fake_api.add_file(f"file-{i}", f"content {i}".encode())
    await messages_with_files(pg_stores[0], ["pending"] * FILES)
    dls = [downloader(fake_api, store, tmp_path / f"i{n}") for n, store in enumerate(pg_stores)]
    for dl in dls:
        dl.start()
    try:
        # the last job to finish, whichever instance ran it, wakes that instance's waiter
        waiters = [asyncio.ensure_future(dl.wait_for(
            lambda _: sum(len(d.finished) for d in dls) >= FILES)) for dl in dls]
        done, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        for task in done:
            task.result()
    finally:
        for dl in dls:
            await dl.stop()
            await dl.bot.session.close()
    assert sorted(c.params["file_id"] for c in fake_api.called("getFile")) == \
        sorted(f"file-{i}" for i in range(FILES))  # each file fetched once, by one instance
    assert len(fake_api.attempts("file")) == FILES
    assert all(a["download"] == "done" for a in await states(pg_stores[0]))
    assert sorted(j for dl in dls for j in dl.finished) == \
        sorted(set(j for dl in dls for j in dl.finished))
    # every lease is gone once its outcome is recorded
    assert await StoreChannelState(pg_stores[1], CHANNEL).scan("download:") == {}


async def test_a_live_lease_is_left_alone_and_an_expired_one_taken_over(
        pg_stores: list[Store], fake_api: FakeTelegramAPI, tmp_path: Path):
    for i in range(3):
        fake_api.add_file(f"file-{i}", f"content {i}".encode())
    now = utcnow()
    legacy = "running:" + (ts(now + timedelta(minutes=5)) or "")  # left by an older version
    ids = await messages_with_files(pg_stores[0], ["pending", "pending", legacy])
    # instance "dead" claimed file 0 and died 20 s ago (its 10 s lease has run out);
    # instance "busy" holds file 1 for another second
    dead = StoreChannelState(pg_stores[0], CHANNEL, clock=lambda: now - timedelta(seconds=20))
    assert await dead.claim(f"download:{ids[0]}:0", "dead", 10)
    busy = StoreChannelState(pg_stores[0], CHANNEL)
    assert await busy.claim(f"download:{ids[1]}:0", "busy", 1.0)
    dl = downloader(fake_api, pg_stores[1], tmp_path, reclaim=0.2)
    dl.start()
    try:
        await dl.wait_for(lambda d: len(d.finished) == 2)
        assert sorted(c.params["file_id"] for c in fake_api.called("getFile")) == \
            ["file-0", "file-2"]
        # the live lease is only taken once it has expired (the downloader looks again)
        await dl.wait_for(lambda d: len(d.finished) == 3)
    finally:
        await dl.stop()
        await dl.bot.session.close()
    assert sorted(c.params["file_id"] for c in fake_api.called("getFile")) == \
        ["file-0", "file-1", "file-2"]
    assert all(a["download"] == "done" for a in (await states(pg_stores[0]))[:3])


async def test_a_download_lease_names_its_conversation(
        pg_stores: list[Store], fake_api: FakeTelegramAPI, tmp_path: Path):
    """Erasing the contact must take a lease still held along (a download cut short)."""
    fake_api.add_file("file-0", b"zero")
    fake_api.fail("getFile", 500, times=1000)  # the Bot API is down: the lease is held
    (message_id,) = await messages_with_files(pg_stores[0], ["pending"])
    dl = downloader(fake_api, pg_stores[1], tmp_path, backoff=30)
    dl.start()
    try:
        await fake_api.wait_for(lambda api: len(api.attempts("getFile")) >= 1)
        message = await pg_stores[0].read(lambda tx: tx.find_message(CHANNEL, "m0"))
        assert message is not None
        state = StoreChannelState(pg_stores[0], CHANNEL)
        assert await state.get(f"download:{message_id}:0") == {"message": message_id,
                                                                "attachment": 0}
        assert not await state.claim(f"download:{message_id}:0", "other", 60)  # held
        removed = await pg_stores[0].write(
            lambda tx: tx.channel_state_erase([], [message.conversation_id]))
        assert removed == 1
    finally:
        await dl.stop()
        await dl.bot.session.close()
