"""PostgreSQL's lanes: the outbox's lease rounds (`ahead`) never queue behind the backlog."""

from __future__ import annotations

import asyncio

from router.store.base import Tx
from router.store.postgres import PostgresStore
from tests.store.pg import fresh_schema, store_url


async def test_an_ahead_unit_does_not_wait_for_the_background_units_queue() -> None:
    """Behind the backlog's processing units a lease round waited for a background
    connection, seconds at 400 new conversations a second on three instances (issue 28).
    Here every background permit is held by a unit that waits, and another waits for a
    permit: the ahead unit still commits."""
    async with fresh_schema() as (url, schema):
        store = PostgresStore(store_url(url, schema, pool_max="3"))  # one background permit
        await store.open()
        release = asyncio.Event()
        started = asyncio.Event()

        async def slow(tx: Tx) -> None:
            await tx.last_event_id()
            started.set()
            await release.wait()

        async def quick(tx: Tx) -> int:
            return await tx.last_event_id()

        try:
            holding = asyncio.ensure_future(store.write(slow, background=True))
            await started.wait()
            queued = asyncio.ensure_future(store.write(quick, background=True))
            ahead = await asyncio.wait_for(
                store.write(quick, background=True, ahead=True), timeout=5)
            assert ahead == 0
            assert not queued.done()  # still behind the unit holding the permit
            release.set()
            await asyncio.gather(holding, queued)
        finally:
            release.set()
            await store.close()
