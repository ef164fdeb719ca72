"""Payloads accepted unparsed (a channel's validation deferred to processing): parsed in
arrival order, settled when they hold nothing, failed when they cannot be parsed, and
kept across a restart like any accepted message."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from router.domain.model import Direction, InboundMessage, Sender, UnparsedInbound
from router.engine.backlog import Backlog
from router.engine.inbound_json import dump_accepted, load_accepted
from router.engine.pipeline import Pipeline
from router.store.sqlite import SqliteStore
from tests.conftest import echo_decide


async def parse(item: UnparsedInbound) -> InboundMessage | None:
    """A channel's parser: {"text": ...} is a message, {"ignore": true} nothing,
    anything else an error."""
    payload = item.payload
    if payload.get("ignore"):
        return None
    return InboundMessage(channel=item.channel, external_id=str(payload.get("key", item.external_id)),
                          thread_key="t1", sender=Sender("user-1"), text=payload["text"],
                          received_at=datetime.now(UTC))


def raw(i: int, **payload: object) -> UnparsedInbound:
    return UnparsedInbound("loopback", f"u{i}", payload or {"text": f"message {i}"})


@contextlib.asynccontextmanager
async def running(path: Path, parser: Callable[[UnparsedInbound], Awaitable[InboundMessage | None]]
                  = parse) -> AsyncIterator[tuple[SqliteStore, Backlog]]:
    """A store and a started backlog (echo replies) on `path`; both closed afterwards."""
    store = SqliteStore(path)
    await store.open()
    backlog = Backlog(store, Pipeline(store, lambda: echo_decide), parse=parser)
    await backlog.start()
    try:
        yield store, backlog
    finally:
        await backlog.stop()
        await store.close()


async def inbound_texts(store: SqliteStore) -> list[str]:
    conv = await store.read(lambda tx: tx.find_conversation("loopback", ["t1"]))
    msgs = await store.read(lambda tx: tx.list_messages(conv.id))
    return [m.text for m in msgs if m.direction == Direction.INBOUND]


def test_unparsed_payloads_round_trip_even_what_orjson_refuses() -> None:
    for payload in ({"update_id": 1, "message": {"text": "Hej ✓", "n": None}},
                    {"big": 2**70, "text": "long integer"},
                    {"text": "lone \ud800 surrogate"}):
        item = UnparsedInbound("telegram:shop", "1", payload)
        assert load_accepted(dump_accepted(item)) == item
    # the platform's JSON text as it came is written as it is and read back decoded
    body = '{"update_id": 1, "message": {"text": "Hej \\u2713 ✓", "n": [1.5, null]}}'.encode()
    back = load_accepted(dump_accepted(UnparsedInbound("telegram:shop", "1", body)))
    assert back == UnparsedInbound("telegram:shop", "1", json.loads(body))


async def test_unparsed_payloads_are_parsed_settled_or_failed_in_order(tmp_path: Path) -> None:
    async with running(tmp_path / "router.db") as (store, backlog):
        items = [raw(0), raw(1, ignore=True), raw(2, oops="no text"),
                 raw(3, text="wrong key", key="other"), raw(4)]
        for item in items:
            assert not (await backlog.accept(item)).duplicate
        assert (await backlog.accept(raw(1, ignore=True))).duplicate  # redelivery
        await backlog.drained()
        texts = await inbound_texts(store)
        failures = await store.read(lambda tx: tx.inbox_failures(10))
        counts = await store.read(lambda tx: tx.inbox_counts())
    assert texts == ["message 0", "message 4"]
    assert sorted((f[1], f[3].split(":")[0]) for f in failures) == [("u2", "KeyError"),
                                                                    ("u3", "ValueError")]
    assert counts == {"pending": 0, "failed": 2}  # the ignored one is settled, not pending
    assert backlog.status()["failed"] == 2


async def test_unparsed_payloads_left_by_a_crash_are_parsed_at_start(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "router.db")
    await store.open()
    for i in range(3):  # acknowledged, then the process died
        assert await Pipeline(store).accept(raw(i))
    await store.close()

    async with running(tmp_path / "router.db") as (store, backlog):
        await backlog.drained()
        assert await inbound_texts(store) == ["message 0", "message 1", "message 2"]


async def test_a_parser_that_waits_does_not_reorder_processing(tmp_path: Path) -> None:
    """The first payload's parser waits (as on a profile lookup) until the last one has
    been parsed; processing still follows arrival order."""
    last_parsed = asyncio.Event()

    async def slow_first(item: UnparsedInbound) -> InboundMessage | None:
        if item.external_id == "u0":
            await last_parsed.wait()
        message = await parse(item)
        if item.external_id == "u4":
            last_parsed.set()
        return message

    async with running(tmp_path / "router.db", slow_first) as (store, backlog):
        for i in range(5):
            await backlog.accept(raw(i))
        await backlog.drained()
        assert last_parsed.is_set()
        assert await inbound_texts(store) == [f"message {i}" for i in range(5)]
