"""One `store` fixture, two backends: every test in tests/store runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from router.store import Store
from router.store.postgres import PostgresStore
from router.store.sqlite import SqliteStore
from tests.store.pg import fresh_schema, store_url


@pytest_asyncio.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "sqlite":
        sqlite = SqliteStore(tmp_path / "router.db")
        await sqlite.open()
        yield sqlite
        await sqlite.close()
        return
    async with fresh_schema() as (url, schema):
        pg = PostgresStore(store_url(url, schema, pool_max="12"))
        await pg.open()
        yield pg
        await pg.close()


@pytest_asyncio.fixture
async def pg_url() -> AsyncIterator[str]:
    """A storage URL for a fresh PostgreSQL schema (for tests that start services)."""
    async with fresh_schema() as (url, schema):
        yield store_url(url, schema)
