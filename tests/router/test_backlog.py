"""Deferred processing (service.acknowledge: stored): acknowledged once stored, processed
once, in arrival order, across restarts; failures kept; a bounded backlog."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from router.domain.model import (
    Attachment,
    Conversation,
    Direction,
    InboundKind,
    InboundMessage,
    Sender,
)
from router.engine.backlog import Backlog
from router.engine.inbound_json import dump_inbound, load_inbound
from router.engine.pipeline import Pipeline
from router.store.sqlite import SqliteStore
from tests.conftest import echo_decide


def inbound(i: int, thread: str = "t1", text: str = "") -> InboundMessage:
    return InboundMessage(channel="loopback", external_id=f"m{i}", thread_key=thread,
                          sender=Sender(external_id=f"user-{thread}", display_name="Ana"),
                          text=text or f"message {i}", received_at=datetime.now(UTC))


async def post(http: aiohttp.ClientSession, port: int, i: int, thread: str) -> dict:
    body = {"id": f"m{i}", "thread": thread, "from": f"user-{thread}", "text": f"message {i}"}
    async with http.post(f"http://127.0.0.1:{port}/webhooks/loopback", json=body) as resp:
        assert resp.status == 200
        return await resp.json()


def test_pending_message_json_round_trips_every_field() -> None:
    msg = InboundMessage(
        channel="telegram:shop", external_id="update-9", thread_key="chat:42",
        sender=Sender("42", "Åsa Öberg", "asa", "a@example.org", "T1", "sv-SE", True),
        text="Hej <b>!</b> \u0000 ✓", received_at=datetime(2026, 11, 25, 12, 0, 1, 5, UTC),
        attachments=(Attachment("photo", "p.jpg", "image/jpeg", 12, "file-1", "cap",
                                {"download": "pending"}),),
        kind=InboundKind.EDIT, is_automatic=True, reply_to="r1", thread_aliases=("a", "b"),
        edits="chat:42:7", callback_data="csat:5", metadata={"chat_type": "group", "n": [1]},
        raw={"update_id": 9, "nested": {"x": None}}, message_external_id="chat:42:8",
        rerun_rules=True)
    assert load_inbound(dump_inbound(msg)) == msg
    plain = inbound(1)
    assert load_inbound(dump_inbound(plain)) == plain


async def test_webhook_is_acknowledged_when_stored_and_processed_once_in_order(
        make_config, start_service, http) -> None:
    service = await start_service(make_config("channels: {loopback: {}}"), echo_decide)
    threads = [f"chat-{n}" for n in range(5)]

    async def customer(thread: str, first: int) -> list[dict]:
        # one customer writes in order; a platform retry of each message comes right after
        acks = []
        for i in range(first, first + 10):
            acks.append(await post(http, service.port, i, thread))
            again = await post(http, service.port, i, thread)
            assert again["duplicate"] is True and again["accepted"] is True
        return acks

    acks = await asyncio.gather(*(customer(t, n * 100) for n, t in enumerate(threads)))
    assert all(a["accepted"] and not a["duplicate"] and a["message_id"] is None
               for per in acks for a in per)
    await service.backlog.drained()

    for n, thread in enumerate(threads):
        conv = await service.store.read(lambda tx, t=thread: tx.find_conversation("loopback", [t]))
        assert conv is not None
        msgs = await service.store.read(lambda tx, c=conv: tx.list_messages(c.id))
        inbound_texts = [m.text for m in msgs if m.direction == Direction.INBOUND]
        assert inbound_texts == [f"message {i}" for i in range(n * 100, n * 100 + 10)]
        replies = [m.text for m in msgs if m.direction == Direction.OUTBOUND]
        assert replies == [f"echo: message {i}" for i in range(n * 100, n * 100 + 10)]
    counts = await service.store.read(lambda tx: tx.inbox_counts())
    assert counts == {"pending": 0, "failed": 0}
    assert service.backlog.status()["processed"] == 50
    async with http.get(f"http://127.0.0.1:{service.port}/status") as resp:
        assert (await resp.json())["backlog"]["pending"] == 0


async def test_acknowledge_processed_answers_with_ids(make_config, start_service, http) -> None:
    config = make_config("service: {acknowledge: processed}\nchannels: {loopback: {}}")
    service = await start_service(config, echo_decide)
    ack = await post(http, service.port, 1, "t")
    assert ack["accepted"] is False and ack["message_id"] and ack["conversation_id"]


async def test_messages_left_pending_by_a_crash_are_processed_first_at_start(
        tmp_path: Path, make_config, start_service, http) -> None:
    config = make_config("channels: {loopback: {}}")
    store = SqliteStore(config.data_path() / "router.db")
    await store.open()
    pipeline = Pipeline(store)
    for i in range(3):  # acknowledged, then the process died before processing them
        assert await pipeline.accept(inbound(i, "t1"))
    await store.close()

    service = await start_service(config, echo_decide)
    await post(http, service.port, 3, "t1")
    await service.backlog.drained()
    conv = await service.store.read(lambda tx: tx.find_conversation("loopback", ["t1"]))
    msgs = await service.store.read(lambda tx: tx.list_messages(conv.id))
    assert [m.text for m in msgs if m.direction == Direction.INBOUND] == [
        "message 0", "message 1", "message 2", "message 3"]
    assert await service.store.read(lambda tx: tx.inbox_counts()) == {"pending": 0, "failed": 0}


async def test_a_message_whose_processing_raises_is_kept_failed_and_can_be_retried(
        tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "router.db")
    await store.open()
    broken = {"on": True}

    async def hook(tx, conv: Conversation, now) -> None:
        if broken["on"] and conv.thread_key == "bad":
            raise RuntimeError("bug in a hook")

    pipeline = Pipeline(store, lambda: echo_decide, on_conversation=hook)
    backlog = Backlog(store, pipeline, orphan_age=0)
    await backlog.start()
    try:
        for i, thread in enumerate(["ok", "bad", "ok"]):
            await backlog.accept(inbound(i, thread))
        await backlog.drained()
        assert backlog.status() == {"pending": 0, "processed": 2, "failed": 1}
        failures = await store.read(lambda tx: tx.inbox_failures(10))
        assert [(c, e) for c, e, _, _ in failures] == [("loopback", "m1")]
        assert "RuntimeError: bug in a hook" in failures[0][3]
        assert await store.read(lambda tx: tx.find_conversation("loopback", ["bad"])) is None

        broken["on"] = False  # fixed; the admin runs `inquiry-router inbox retry`
        assert await store.write(lambda tx: tx.inbox_retry()) == 1
        await backlog._rescan()  # what the running service does every 30 s
        await backlog.drained()
        assert backlog.status()["processed"] == 3
        conv = await store.read(lambda tx: tx.find_conversation("loopback", ["bad"]))
        assert conv is not None and conv.message_count == 1
        assert await store.read(lambda tx: tx.inbox_counts()) == {"pending": 0, "failed": 0}
    finally:
        await backlog.stop()
        await store.close()


async def test_backlog_is_bounded_acknowledgements_wait_for_room(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "router.db")
    await store.open()
    pipeline = Pipeline(store, lambda: echo_decide)
    backlog = Backlog(store, pipeline, max_pending=3)
    try:
        for i in range(3):  # not started yet: nothing is processed
            await backlog.accept(inbound(i))
        fourth = asyncio.create_task(backlog.accept(inbound(3)))
        await asyncio.wait([fourth], timeout=0.2)
        assert not fourth.done()  # backpressure: waits for room
        await backlog.start()
        assert not (await fourth).duplicate
        await backlog.drained()
        assert backlog.status()["processed"] == 4
    finally:
        await backlog.stop()
        await store.close()


async def test_two_backlogs_on_one_store_process_each_message_once(tmp_path: Path) -> None:
    """What several instances do on PostgreSQL: a rescan finds another's pending rows;
    the take in the processing unit lets exactly one of them process each."""
    store = SqliteStore(tmp_path / "router.db")
    await store.open()
    pipeline = Pipeline(store, lambda: echo_decide)
    first, second = Backlog(store, pipeline), Backlog(store, pipeline)
    try:
        for i in range(20):
            await first.accept(inbound(i, f"t{i % 4}"))
        await second._load(older_than=None)  # second sees all 20 as pending too
        await asyncio.gather(first.start(), second.start())
        await asyncio.gather(first.drained(), second.drained())
        assert first.processed + second.processed == 20
        for t in range(4):
            conv = await store.read(lambda tx, t=t: tx.find_conversation("loopback", [f"t{t}"]))
            assert conv.message_count == 5
    finally:
        await first.stop()
        await second.stop()
        await store.close()


@pytest.mark.parametrize("mode", ["stored", "processed"])
def test_acknowledge_setting_is_validated(make_config, mode: str) -> None:
    assert make_config(f"service: {{acknowledge: {mode}}}").settings.service.acknowledge == mode


async def test_inbox_command_lists_failures_and_retries_them(make_config) -> None:
    config = make_config("channels: {loopback: {}}")
    store = SqliteStore(config.data_path() / "router.db")
    await store.open()
    pipeline = Pipeline(store)
    for i in range(3):
        assert await pipeline.accept(inbound(i, f"t{i}"))
    await store.write(lambda tx: tx.inbox_fail("loopback", "m1", "KeyError: 'x'"))
    await store.close()

    cli = [sys.executable, "-m", "router", "inbox", "--config", str(config.path)]
    listed = subprocess.run([*cli, "list"], capture_output=True, text=True, check=True)
    assert "2 waiting for processing, 1 failed" in listed.stdout
    assert "m1" in listed.stdout and "KeyError: 'x'" in listed.stdout
    retried = subprocess.run([*cli, "retry"], capture_output=True, text=True, check=True)
    assert "1 message queued for processing again" in retried.stdout
    listed = subprocess.run([*cli, "list"], capture_output=True, text=True, check=True)
    assert "3 waiting for processing, 0 failed" in listed.stdout
