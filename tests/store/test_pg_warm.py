"""PostgreSQL: every pooled connection is opened at start and warmed (issue 28).

A connection's first unit of work cost about ten warm ones; pools that opened or first
used connections when a burst came made three instances stall together for 0.3-0.7 s.
These tests check what warming promises: each connection runs the unit once, nothing it
wrote stays (the deferred events trigger included), a connection opened later is warmed
as it opens, and a unit that fails only costs a log line."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from router.config import load_config
from router.domain.model import Decision, Event
from router.engine.pipeline import Pipeline
from router.service import Decider, Service
from router.store.base import Tx, utcnow
from router.store.postgres import PostgresStore, split_url
from router.store.postgres_tx import PgTx
from tests.conftest import echo_decide, write_config
from tests.store.pg import fresh_schema, store_url

TABLES = ("contacts", "identities", "conversations", "messages", "inbox", "events",
          "events_staged", "outbox", "message_search", "contact_search")


async def _counts(store: PostgresStore) -> dict[str, int]:
    async def count(tx: Tx) -> dict[str, int]:
        assert isinstance(tx, PgTx)
        return {t: int(await tx.c.fetchval(f"SELECT count(*) FROM {t}")) for t in TABLES}
    return await store.read(count)


def test_the_pool_keeps_pool_max_connections_unless_told_otherwise() -> None:
    assert split_url("postgresql://h/db?pool_max=6")[1:] == (6, 6)
    assert split_url("postgresql://h/db")[1:] == (10, 10)
    assert split_url("postgresql://h/db?pool_min=2&pool_max=6")[1:] == (2, 6)


async def test_every_connection_runs_the_unit_once_and_keeps_nothing() -> None:
    async with fresh_schema() as (url, schema):
        store = PostgresStore(store_url(url, schema, pool_max="4"))
        await store.open()
        seen: list[int] = []

        async def unit(tx: Tx) -> None:
            assert isinstance(tx, PgTx)
            seen.append(await tx.c.fetchval("SELECT pg_backend_pid()"))
            await tx.insert_event(Event(0, "warm", utcnow(), None, "system", {}))

        try:
            await store.warm(unit)
            assert len(seen) == 4 and len(set(seen)) == 4  # each connection, once
            await store.warm(unit)  # warmed already: not again
            assert len(seen) == 4
            assert set((await _counts(store)).values()) == {0}
            # the events trigger ran (SET CONSTRAINTS ALL IMMEDIATE) and was rolled back:
            # the events sequence moved, no row stayed
            moved = await store.read(lambda tx: tx.c.fetchval(  # type: ignore[attr-defined]
                "SELECT last_value FROM events_id_seq"))
            assert moved >= 4
        finally:
            await store.close()


async def test_a_connection_opened_later_is_warmed_as_it_opens() -> None:
    async with fresh_schema() as (url, schema):
        store = PostgresStore(store_url(url, schema, pool_min="1", pool_max="2"))
        await store.open()
        seen: list[int] = []
        both = asyncio.Barrier(2)

        async def unit(tx: Tx) -> None:
            seen.append(await tx.c.fetchval("SELECT pg_backend_pid()"))  # type: ignore[attr-defined]

        async def hold(tx: Tx) -> None:  # two units at once: both connections in use
            await both.wait()

        try:
            await store.warm(unit)  # the second connection opens here, warmed as it opens
            assert len(seen) == 2 and len(set(seen)) == 2
            assert store._pool is not None
            await store._pool.expire_connections()  # as after a drop: replaced when taken
            await asyncio.gather(store.read(hold), store.read(hold))
            assert len(seen) == 4 and not set(seen[2:]) & set(seen[:2])
        finally:
            await store.close()


async def test_a_failing_unit_is_logged_and_the_store_works(
        caplog: pytest.LogCaptureFixture) -> None:
    async with fresh_schema() as (url, schema):
        store = PostgresStore(store_url(url, schema, pool_max="2"))
        await store.open()

        async def broken(tx: Tx) -> None:
            raise RuntimeError("no such rule")

        try:
            with caplog.at_level(logging.WARNING, logger="router.store.postgres"):
                await store.warm(broken)
            assert caplog.text.count("warming a PostgreSQL connection failed") == 2
            assert "RuntimeError: no such rule" in caplog.text
            assert await store.read(lambda tx: tx.last_event_id()) == 0
        finally:
            await store.close()


async def test_the_pipelines_warm_up_unit_leaves_nothing_behind() -> None:
    """The service's warm-up: a made-up customer's two messages through the processing
    unit, answered (reply and outbox row written), all rolled back."""
    from router.domain.model import Action, ReplyContent

    def answer(ctx: object) -> Decision:
        return Decision(actions=[Action("reply", ReplyContent("Open 9-17."), source="faq")],
                        language="en")

    async with fresh_schema() as (url, schema):
        store = PostgresStore(store_url(url, schema, pool_max="3"))
        await store.open()
        pipeline = Pipeline(store, lambda: answer)
        wrote: list[int] = []

        async def unit(tx: Tx) -> None:
            await pipeline.warm_up(tx, "loopback")
            assert isinstance(tx, PgTx)
            wrote.append(int(await tx.c.fetchval("SELECT count(*) FROM outbox")))

        try:
            await store.warm(unit)
            assert wrote == [2, 2, 2]  # each connection wrote both replies ...
            assert set((await _counts(store)).values()) == {0}  # ... and kept none
        finally:
            await store.close()


async def test_the_service_warms_its_pool_before_it_serves(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """`serve` on PostgreSQL: every pooled connection warmed with the processing unit
    before the port opens (the log says so), and the made-up customer left no trace."""
    async with fresh_schema() as (url, schema):
        config = load_config(write_config(
            tmp_path, f"storage: {{url: '{store_url(url, schema, pool_max='4')}'}}\n"))
        service = Service(config, decider=Decider(echo_decide))
        with caplog.at_level(logging.INFO, logger="router.store.postgres"):
            await service.start(port=0)
        try:
            assert "warmed 4 PostgreSQL connections" in caplog.text
            assert "warming a PostgreSQL connection failed" not in caplog.text
            assert isinstance(service.store, PostgresStore)
            assert set((await _counts(service.store)).values()) == {0}
        finally:
            await service.stop()
