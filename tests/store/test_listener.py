"""The PostgreSQL LISTEN connection survives being dropped.

Its backend is terminated from another connection (as a server restart or a network cut
would): the store reconnects, runs the remote-commit callbacks once (NOTIFYs sent while
it was away are lost), and a later commit by another instance wakes it again promptly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

import asyncpg
import pytest

from router.domain.model import (
    Event,
    InboundMessage,
    Sender,
)
from router.engine.pipeline import Pipeline
from router.store import Tx, utcnow
from router.store.postgres import PostgresStore, channel_for
from tests.store.pg import fresh_schema, server_url, store_url
from tests.store.replies import FreeSlots, answering

PROMPT = 5.0  # generous bound for "promptly" (the fallback poll is what we must not need)


async def _event(tx: Tx) -> None:
    await tx.insert_event(Event(0, "test_ping", utcnow(), actor="test"))


@contextlib.asynccontextmanager
async def _two_instances(pg_url: str) -> AsyncIterator[tuple[PostgresStore, PostgresStore]]:
    """Two opened stores on one database, as two instances; both closed at the end."""
    a, b = PostgresStore(pg_url), PostgresStore(pg_url)
    await a.open()
    await b.open()
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


async def _terminate(pid: int) -> None:
    admin = await asyncpg.connect(await server_url())
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()


async def test_listener_reconnects_and_wakes_again(pg_url: str,
                                                   caplog: pytest.LogCaptureFixture):
    a, b = PostgresStore(pg_url), PostgresStore(pg_url)
    await a.open()
    await b.open()
    woken = asyncio.Event()
    calls = 0

    def remote_commit() -> None:
        nonlocal calls
        calls += 1
        woken.set()

    a.on_remote_commit(remote_commit)
    try:
        await b.write(_event)  # the bridge works before the drop
        await asyncio.wait_for(woken.wait(), PROMPT)
        woken.clear()
        calls = 0

        assert a._listener is not None
        old_pid = a._listener.get_server_pid()
        with caplog.at_level(logging.INFO, logger="router.store.postgres"):
            await _terminate(old_pid)
            # reconnected: the callbacks run once, for commits missed meanwhile
            await asyncio.wait_for(woken.wait(), PROMPT)
        assert a.reconnects == 1
        assert calls == 1
        assert a._listener is not None and a._listener.get_server_pid() != old_pid
        assert "LISTEN connection lost" in caplog.text
        assert "LISTEN connection restored" in caplog.text

        woken.clear()
        await b.write(_event)  # a commit on B wakes A through the new connection
        await asyncio.wait_for(woken.wait(), PROMPT)
        assert calls == 2
    finally:
        await a.close()
        await b.close()


async def test_listener_reconnect_backs_off_until_the_server_answers(pg_url: str):
    """While connecting fails, attempts are retried with a capped, growing delay."""
    a, b = PostgresStore(pg_url), PostgresStore(pg_url)
    await a.open()
    await b.open()
    woken = asyncio.Event()
    a.on_remote_commit(woken.set)
    attempts: list[int] = []
    original = a._listen

    async def flaky_listen() -> None:
        attempts.append(1)
        if len(attempts) < 3:
            raise OSError("connection refused (test)")
        await original()

    a._listen = flaky_listen  # type: ignore[method-assign]
    a.listen_backoff = (0.01, 0.02)
    try:
        assert a._listener is not None
        await _terminate(a._listener.get_server_pid())
        await asyncio.wait_for(woken.wait(), PROMPT)
        assert len(attempts) == 3 and a.reconnects == 1
        woken.clear()
        await b.write(_event)
        await asyncio.wait_for(woken.wait(), PROMPT)
    finally:
        await a.close()
        await b.close()


async def test_close_does_not_reconnect(pg_url: str):
    a = PostgresStore(pg_url)
    await a.open()
    await a.close()
    assert a.reconnects == 0 and a._listener is None


async def test_an_instance_notifies_at_most_once_per_interval(pg_url: str):
    """Every instance receives every NOTIFY, its own too (about 0.1 ms of CPU each): one
    per unit made N instances pay N times the cluster's commit rate (issue 28). The first
    unit in an interval notifies in its last statement; the units after it send none, and
    one NOTIFY follows their commits when the interval ends, so nothing is missed."""
    async with _two_instances(pg_url) as (a, b):
        b.notify_every = 1.0  # ten writes fit in it on a busy machine too
        woken: list[float] = []
        twice = asyncio.Event()

        def remote_commit() -> None:
            woken.append(time.monotonic())
            if len(woken) == 2:
                twice.set()

        a.on_remote_commit(remote_commit)
        started = time.monotonic()
        for _ in range(10):
            await b.write(_event)
        assert time.monotonic() - started < b.notify_every  # all within one interval
        await asyncio.wait_for(twice.wait(), PROMPT)
        # the second was sent when the interval ended (delivery may delay either, never
        # advance it: measured from the first write, not from the first wake-up, which a
        # busy machine had delivered 0.47 s late), and covers every commit before it
        assert max(woken) - started >= b.notify_every * 0.99
        assert len(await a.read(lambda tx: tx.list_events(None))) == 10
        assert len(woken) == 2


async def test_a_notify_still_due_is_sent_at_close(pg_url: str):
    async with _two_instances(pg_url) as (a, b):
        b.notify_every = 60.0
        woken: list[int] = []
        twice = asyncio.Event()

        def remote_commit() -> None:
            woken.append(1)
            if len(woken) == 2:
                twice.set()

        a.on_remote_commit(remote_commit)
        await b.write(_event)  # notifies at once
        await b.write(_event)  # within the interval: its NOTIFY waits ...
        await b.close()  # ... and goes at close, not a minute later
        await asyncio.wait_for(twice.wait(), PROMPT)


async def test_a_broadcast_reaches_the_other_instances_of_its_topic(pg_url: str):
    """`Store.broadcast`: a web chat visitor's socket held by another instance (issue 28)."""
    async with _two_instances(pg_url) as (a, b):
        got: dict[str, asyncio.Queue[str]] = {"a": asyncio.Queue(), "b": asyncio.Queue()}
        a.on_broadcast("webchat", got["a"].put_nowait)
        b.on_broadcast("webchat", got["b"].put_nowait)
        b.on_broadcast("telegram", lambda _: pytest.fail("another topic's broadcast"))
        await b.broadcast("webchat", '{"visitor": "v_1", "text": "hej\\nhej"}')
        assert await asyncio.wait_for(got["a"].get(), PROMPT) == '{"visitor": "v_1", "text": "hej\\nhej"}'
        await a.broadcast("webchat", "ÅÄÖ" * 1000)  # 6,000 bytes: fits
        assert await asyncio.wait_for(got["b"].get(), PROMPT) == "ÅÄÖ" * 1000
        assert got["a"].empty()  # not to its own sender
        with pytest.raises(ValueError, match="at most 7000 bytes"):
            await a.broadcast("webchat", "Ö" * 3501)


async def test_broadcasts_need_no_pooled_connection_and_go_in_batches(pg_url: str):
    """Every pooled connection is taken (as by processing units under load): broadcasts
    still go, on the LISTEN connection, in order, several to a statement (issue 28:
    each web chat reply had queued for a pooled connection first)."""
    async with _two_instances(pg_url) as (a, b):
        got: asyncio.Queue[str] = asyncio.Queue()
        a.on_broadcast("webchat", got.put_nowait)
        assert b._pool is not None
        taken = [await b._pool.acquire() for _ in range(b.pool_max)]
        try:
            before = b.notifies.batches
            sent = [f'{{"n": {i}}}' for i in range(50)]
            await asyncio.wait_for(
                asyncio.gather(*(b.broadcast("webchat", p) for p in sent)), PROMPT)
        finally:
            for conn in taken:
                await b._pool.release(conn)
        assert [await asyncio.wait_for(got.get(), PROMPT) for _ in sent] == sent
        assert b.notifies.batches - before < len(sent)


async def test_broadcasts_wait_for_company_and_a_commits_notify_ends_the_wait(pg_url: str):
    """Broadcasts wait up to `gather` seconds to share a statement (each statement of
    NOTIFYs wakes every instance's listener); a commit's NOTIFY sends them at once,
    in order, in one statement with it."""
    async with _two_instances(pg_url) as (a, b):
        got: asyncio.Queue[str] = asyncio.Queue()
        a.on_broadcast("webchat", got.put_nowait)
        b.notifies.gather = 60.0  # longer than the test may take: only the commit ends it
        before = b.notifies.batches
        started = time.monotonic()
        await b.broadcast("webchat", "first")
        for _ in range(5):  # the sender is running: waiting for company, nothing sent
            await asyncio.sleep(0)
        assert got.empty() and b.notifies.batches == before
        await b.broadcast("webchat", "second")
        await asyncio.wait_for(b.notifies.send(b.channel, "0123456789ab"), PROMPT)
        assert [await asyncio.wait_for(got.get(), PROMPT) for _ in range(2)] == ["first",
                                                                                 "second"]
        assert b.notifies.batches - before == 1
        assert time.monotonic() - started < 30.0


async def test_broadcasts_use_a_pooled_connection_while_listen_is_down(pg_url: str):
    async with _two_instances(pg_url) as (a, b):
        got: asyncio.Queue[str] = asyncio.Queue()
        a.on_broadcast("webchat", got.put_nowait)
        assert b._supervisor is not None
        b._supervisor.cancel()  # no reconnect: the LISTEN connection stays away
        with contextlib.suppress(asyncio.CancelledError):
            await b._supervisor
        assert b._listener is not None
        listener, b._listener = b._listener, None
        await listener.close()
        await b.broadcast("webchat", "via the pool")
        assert await asyncio.wait_for(got.get(), PROMPT) == "via the pool"


async def test_deployments_in_other_schemas_of_the_database_are_not_woken(pg_url: str):
    """LISTEN/NOTIFY channels belong to the database: a deployment in another schema had
    been woken by every commit here and received every broadcast (web chat frames)."""
    async with _two_instances(pg_url) as (a, b), fresh_schema() as (url, schema):
        other = PostgresStore(store_url(url, schema))
        neighbour = PostgresStore(store_url(url, schema))
        await other.open()
        await neighbour.open()
        try:
            assert a.channel == b.channel != other.channel == neighbour.channel
            heard: dict[str, asyncio.Queue[str]] = {"a": asyncio.Queue(), "other": asyncio.Queue()}
            a.on_remote_commit(lambda: heard["a"].put_nowait("commit"))
            a.on_broadcast("webchat", lambda p: heard["a"].put_nowait(p))
            other.on_remote_commit(lambda: heard["other"].put_nowait("commit"))
            other.on_broadcast("webchat", lambda p: heard["other"].put_nowait(p))
            await b.write(_event)
            await b.broadcast("webchat", '{"visitor": "v_1"}')
            assert [await asyncio.wait_for(heard["a"].get(), PROMPT) for _ in range(2)] == [
                "commit", '{"visitor": "v_1"}']
            # a listener gets NOTIFYs in commit order: once the neighbour's commit (after
            # b's) has reached `other`, b's would have reached it before
            await neighbour.write(_event)
            assert await asyncio.wait_for(heard["other"].get(), PROMPT) == "commit"
            assert heard["other"].empty()
        finally:
            await other.close()
            await neighbour.close()


def test_a_schemas_channel_name_fits_postgresql() -> None:
    assert channel_for("inquiry_router", "public") == "inquiry_router"  # as before
    assert channel_for("inquiry_router", "shop_a") == "inquiry_router:shop_a"
    long = channel_for("inquiry_router_broadcast", "s" * 63)
    assert len(long.encode()) <= 63 and long != channel_for("inquiry_router_broadcast", "s" * 62)


async def test_other_dispatchers_look_only_at_rows_left_to_a_lease_round(pg_url: str):
    """A commit whose writer leased the reply it wrote wakes the other instances' live
    views, not their dispatchers (`on_remote_outbox`); one that left a row wakes both,
    also when its unit's lease found the row behind an older one of its thread."""
    async with _two_instances(pg_url) as (a, b):
        b.notify_every = 0  # every unit NOTIFYs at its commit
        heard: asyncio.Queue[str] = asyncio.Queue()
        a.on_remote_commit(lambda: heard.put_nowait("commit"))
        a.on_remote_outbox(lambda: heard.put_nowait("outbox"))

        async def next_heard(n: int) -> list[str]:
            return [await asyncio.wait_for(heard.get(), PROMPT) for _ in range(n)]

        async def process(slots: FreeSlots | None, n: int, thread: str) -> None:
            message = InboundMessage("loopback", f"m{n}", thread, Sender(f"u-{thread}"),
                                     "När har ni öppet?", utcnow())
            pipeline = Pipeline(b, lambda: answering, slots=slots)
            assert await pipeline.accept(message)
            assert not (await pipeline.process(message)).duplicate

        # (the accepts write no outbox row: each is a commit without a NOTIFY)
        await process(FreeSlots(), 1, "t1")  # leased by its unit
        await process(None, 2, "t2")  # left to a lease round
        # NOTIFYs come in commit order: had the first said "look", it would be here
        assert await next_heard(3) == ["commit", "commit", "outbox"]
        await process(FreeSlots(), 3, "t2")  # behind t2's first reply: its lease finds none
        assert await next_heard(3) == ["commit", "commit", "outbox"]  # its NOTIFY, then one more
        await b.write(_event)  # no outbox row
        await process(None, 4, "t3")
        assert await next_heard(3) == ["commit", "commit", "outbox"]
        # an instance of an earlier version NOTIFYs its name alone: that means "look"
        await b.notifies.send(b.channel, "0123456789ab")
        assert await next_heard(2) == ["commit", "outbox"]
