"""The machine's PostgreSQL for tests: a fresh schema per test, dropped afterwards.

`ROUTER_TEST_PG` overrides the server URL (default: 127.0.0.1:5432, database `test`,
trust auth as `root` or else `postgres`). Without a server the PostgreSQL tests skip,
except under CI (CI=true), where they fail: the suite must have run on both backends.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest

CANDIDATES = ("postgresql://root@127.0.0.1:5432/test", "postgresql://postgres@127.0.0.1:5432/test")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1")


async def server_url() -> str:
    """The first URL that connects; skip (or fail under CI) when none does."""
    urls = [os.environ["ROUTER_TEST_PG"]] if os.environ.get("ROUTER_TEST_PG") else CANDIDATES
    errors = []
    for url in urls:
        try:
            conn = await asyncpg.connect(url, timeout=5)
        except (OSError, asyncpg.PostgresError) as exc:
            errors.append(f"{url}: {exc}")
            continue
        await conn.close()
        return url
    message = "PostgreSQL not reachable: " + "; ".join(errors)
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


@asynccontextmanager
async def fresh_schema() -> AsyncIterator[tuple[str, str]]:
    """(server url, schema name); `url?search_path=<schema>` points a store at it."""
    url = await server_url()
    schema = f"test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
        yield url, schema
    finally:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await conn.close()


def store_url(url: str, schema: str, **extra: str) -> str:
    query = "&".join([f"search_path={schema}", *(f"{k}={v}" for k, v in extra.items())])
    return f"{url}?{query}"
