"""Download jobs with several instances on one PostgreSQL store: one download per file.

Every instance looks for pending jobs when it starts; the lease taken before a download
(`download: running:<until>`) makes exactly one of them fetch each file. A lease left by
an instance that died is taken over once it has expired, not before.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest_asyncio
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from channels.telegram.download import RUNNING, Downloader
from channels.telegram.settings import DownloadSettings
from router.model import AuthorKind, Contact, Conversation, Direction, Message
from router.store import Store, Tx, utcnow
from router.store.base import ts
from router.store.postgres import PostgresStore
from tests.channels.telegram.fake_api import TOKEN, FakeTelegramAPI
from tests.store.pg import fresh_schema, store_url

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


async def messages_with_files(store: Store, states: list[str]) -> None:
    now = utcnow()

    async def unit(tx: Tx) -> None:
        contact = await tx.create_contact(Contact(0, "Olga"), now)
        conv = await tx.create_conversation(Conversation(
            0, contact, CHANNEL, "chat-1", created_at=now, updated_at=now))
        for i, state in enumerate(states):
            await tx.insert_message(Message(
                0, conv, Direction.INBOUND, AuthorKind.CUSTOMER, f"file {i}", now,
                external_id=f"m{i}",
                attachments=[{"kind": "document", "ref": f"file-{i}", "download": state}]))

    await store.write(unit)


async def states(store: Store) -> list[dict[str, Any]]:
    async def unit(tx: Tx) -> list[dict[str, Any]]:
        found = [await tx.find_message(CHANNEL, f"m{i}") for i in range(FILES)]
        return [m.attachments[0] for m in found if m is not None]

    return await store.read(unit)


def downloader(api: FakeTelegramAPI, store: Store, data_dir: Path, **kw: Any) -> Downloader:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api.base))
    return Downloader(settings=DownloadSettings(enabled=True, max_bytes=100_000),
                      channel=CHANNEL, bot=Bot(TOKEN, session=session), store=store,
                      data_dir=data_dir, **kw)


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


async def test_a_live_lease_is_left_alone_and_an_expired_one_taken_over(
        pg_stores: list[Store], fake_api: FakeTelegramAPI, tmp_path: Path):
    fake_api.add_file("file-0", b"zero")
    fake_api.add_file("file-1", b"one")
    now = utcnow()
    expired = RUNNING + (ts(now - timedelta(seconds=5)) or "")
    live = RUNNING + (ts(now + timedelta(seconds=1)) or "")  # the other instance, still busy
    await messages_with_files(pg_stores[0], [expired, live])
    dl = downloader(fake_api, pg_stores[1], tmp_path)
    dl.start()
    try:
        await dl.wait_for(lambda d: len(d.finished) == 1)
        assert [c.params["file_id"] for c in fake_api.called("getFile")] == ["file-0"]
        # the live lease is only taken once it has expired (the downloader rescans then)
        await dl.wait_for(lambda d: len(d.finished) == 2)
    finally:
        await dl.stop()
        await dl.bot.session.close()
    assert [c.params["file_id"] for c in fake_api.called("getFile")] == ["file-0", "file-1"]
