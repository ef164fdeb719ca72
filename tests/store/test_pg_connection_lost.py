"""PostgreSQL: connections cut under the store (a server restart, a failover, an admin's
pg_terminate_backend) give callers a StoreError, which the HTTP API answers with 503 and
the pipeline retries, never asyncpg's own exceptions; and the pool recovers by itself.

asyncpg reports a cut in several ways, depending on where the connection was when the
news arrived: `ConnectionDoesNotExistError` (an InterfaceError), the server's
`AdminShutdownError` (57P01, a PostgresError of class "operator intervention") or, when a
pooled connection is reset while its socket is closing, `InternalClientError` ("cannot
switch to state ...")."""

from __future__ import annotations

import asyncio

import asyncpg

from router.domain.errors import StoreError
from router.domain.model import Event
from router.store.base import Tx, utcnow
from router.store.postgres import PostgresStore
from router.store.postgres_tx import PgTx
from tests.store.pg import fresh_schema, store_url


async def _pid(tx: Tx) -> int:
    assert isinstance(tx, PgTx)
    return int(await tx.c.fetchval("SELECT pg_backend_pid()"))


async def _event(tx: Tx) -> None:
    await tx.insert_event(Event(0, "test_ping", utcnow(), actor="test"))


async def _cut(url: str, application: str) -> int:
    admin = await asyncpg.connect(url)
    try:
        return int(await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = $1", application))
    finally:
        await admin.close()


async def test_cut_connections_raise_store_errors_and_the_pool_recovers() -> None:
    async with fresh_schema() as (url, schema):
        application = f"ir-{schema}"
        store = PostgresStore(store_url(url, schema, pool_max="3",
                                        application_name=application))
        await store.open()
        try:
            written = 0
            for round_ in range(3):
                assert await _cut(url, application) >= 3  # the pool's and the listener's
                outcomes: list[str] = []
                for attempt in range(12):
                    writing = attempt % 2 == 0
                    try:
                        await (store.write(_event) if writing else store.read(_pid))
                    except StoreError:  # anything else fails the test
                        outcomes.append("store error")
                        continue
                    outcomes.append("ok")
                    written += writing
                assert outcomes[-4:] == ["ok"] * 4, (round_, outcomes)  # recovered
            # the writes that succeeded are there, and only they (the cuts came between units)
            assert await store.read(lambda tx: tx.c.fetchval(  # type: ignore[attr-defined]
                "SELECT count(*) FROM events WHERE kind = 'test_ping'")) == written
        finally:
            await asyncio.wait_for(store.close(), 15)
