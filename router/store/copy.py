"""Copy a whole store between backends (`inquiry-router migrate --from URL --to URL`).

Tables are copied in dependency order, each in primary-key order and in batches, with
ids kept as they are (references stay valid; PostgreSQL sequences are moved past them
afterwards). The target is opened through its `Store` first, so it has the schema; the
source is read as it is and must be at the same schema version. At the end both sides
are re-read and compared per table: row count and an order-independent checksum (the
sum of a sha256 per row), so a differing text collation cannot fake a mismatch.
"""

from __future__ import annotations

import hashlib
import sqlite3
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import asyncpg
import orjson

from router.domain.errors import StoreError
from router.store import open_store
from router.store.migrate import migrations

# (table, key columns) in an order that satisfies every foreign key
TABLES: tuple[tuple[str, str], ...] = (
    ("contacts", "id"), ("agents", "id"), ("conversations", "id"), ("identities", "id"),
    ("thread_keys", "channel, key, conversation_id"), ("messages", "id"),
    ("inbox", "channel, external_id"), ("outbox", "id"), ("events", "id"), ("api_tokens", "id"),
    ("audit_log", "id"), ("agent_two_factor", "agent_id"), ("recovery_codes", "id"),  # issue 29
    ("macros", "id"), ("saved_views", "id"), ("agent_settings", "agent_id"),  # issue 24
    ("crm_cursors", "crm"), ("crm_contacts", "crm, contact_id"),  # issue 27
    ("channel_state", "channel, key"),  # issue 25
)
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class TableReport:
    table: str
    source_rows: int
    target_rows: int
    source_sum: str
    target_sum: str

    @property
    def ok(self) -> bool:
        return self.source_rows == self.target_rows and self.source_sum == self.target_sum


class Side:
    """Raw access to one database: columns, counts, batches and inserts."""

    dialect: str

    async def close(self) -> None: ...
    async def version(self) -> int: raise NotImplementedError
    async def columns(self, table: str) -> list[str]: raise NotImplementedError
    async def count(self, table: str) -> int: raise NotImplementedError
    def batches(self, table: str, cols: Sequence[str], key: str,
                size: int) -> AsyncIterator[list[tuple[Any, ...]]]: raise NotImplementedError
    async def insert(self, table: str, cols: Sequence[str], rows: list[tuple[Any, ...]]) -> None: ...
    async def clear(self) -> None: ...
    async def finish(self) -> None: ...


class SqliteSide(Side):
    dialect = "sqlite"

    def __init__(self, path: Path, *, read_only: bool) -> None:
        uri = f"file:{path}?mode=ro" if read_only else f"file:{path}"
        if read_only and not path.exists():
            raise StoreError(f"no SQLite database at {path}")
        self.c = sqlite3.connect(uri, uri=True, isolation_level=None)
        self.c.execute("PRAGMA foreign_keys=OFF")

    async def close(self) -> None:
        self.c.close()

    async def version(self) -> int:
        return int(self.c.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0])

    async def columns(self, table: str) -> list[str]:
        return [r[1] for r in self.c.execute(f"PRAGMA table_info({table})")]

    async def count(self, table: str) -> int:
        return int(self.c.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

    async def batches(self, table: str, cols: Sequence[str], key: str,
                      size: int) -> AsyncIterator[list[tuple[Any, ...]]]:
        cur = self.c.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY {key}")
        while rows := cur.fetchmany(size):
            yield rows

    async def insert(self, table: str, cols: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        self.c.execute("BEGIN")
        self.c.executemany(f"INSERT INTO {table} ({', '.join(cols)}) "
                           f"VALUES ({', '.join('?' * len(cols))})", rows)
        self.c.execute("COMMIT")

    async def clear(self) -> None:
        for table, _ in reversed(TABLES):
            self.c.execute(f"DELETE FROM {table}")

    async def finish(self) -> None:
        # search (issue 24): the store's inserts index new messages and contacts (migration
        # 0020), a bulk copy does not
        from router.store.sql_search import SQLITE_INDEX_ALL, SQLITE_INDEX_CONTACTS

        self.c.execute(SQLITE_INDEX_ALL)
        self.c.execute(SQLITE_INDEX_CONTACTS)


class PgSide(Side):
    dialect = "postgresql"

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.c = conn

    @classmethod
    async def connect(cls, url: str) -> PgSide:
        from router.store.postgres import split_url

        return cls(await asyncpg.connect(split_url(url)[0]))

    async def close(self) -> None:
        await self.c.close()

    async def version(self) -> int:
        return int(await self.c.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"))

    async def columns(self, table: str) -> list[str]:
        rows = await self.c.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_name = $1 "
            "AND table_schema = current_schema() ORDER BY ordinal_position", table)
        return [r[0] for r in rows]

    async def count(self, table: str) -> int:
        return int(await self.c.fetchval(f"SELECT COUNT(*) FROM {table}"))

    async def batches(self, table: str, cols: Sequence[str], key: str,
                      size: int) -> AsyncIterator[list[tuple[Any, ...]]]:
        async with self.c.transaction(isolation="repeatable_read", readonly=True):
            cursor = await self.c.cursor(f"SELECT {', '.join(cols)} FROM {table} ORDER BY {key}")
            while rows := await cursor.fetch(size):
                yield [tuple(r) for r in rows]

    async def insert(self, table: str, cols: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        await self.c.copy_records_to_table(table, records=rows, columns=list(cols))

    async def clear(self) -> None:
        await self.c.execute(f"TRUNCATE {', '.join(t for t, _ in TABLES)} RESTART IDENTITY")

    async def finish(self) -> None:
        # search: an identity's trigger built its contact's document; a contact without
        # one gets it from the store's insert (migration 0020), which a copy does not run
        await self.c.execute("SELECT ir_contact_doc(c.id) FROM contacts c WHERE NOT EXISTS "
                             "(SELECT 1 FROM contact_search s WHERE s.contact_id = c.id)")
        # Ids were copied as they were: move each sequence past the largest one.
        for table, key in TABLES:
            if key == "id":
                await self.c.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM {table}")


async def open_side(url: str, *, target: bool) -> Side:
    if url.startswith("sqlite:///"):
        return SqliteSide(Path(url.removeprefix("sqlite:///")), read_only=not target)
    if url.startswith(("postgresql://", "postgres://")):
        return await PgSide.connect(url)
    raise StoreError(f"unsupported storage url scheme: {url.split(':', 1)[0]}")


async def checksum(side: Side, table: str, cols: Sequence[str], key: str) -> tuple[int, str]:
    total, rows = 0, 0
    async for batch in side.batches(table, cols, key, 5000):
        for row in batch:
            digest = hashlib.sha256(orjson.dumps(list(row))).digest()
            total = (total + int.from_bytes(digest, "big")) % (1 << 256)
            rows += 1
    return rows, f"{total:064x}"


async def copy_store(source_url: str, target_url: str, *, force: bool = False,
                     batch: int = 1000, progress: Progress | None = None) -> list[TableReport]:
    """Copy every table; the per-table comparison of both sides when done."""
    store = open_store(target_url)
    await store.open()  # creates the target's schema (and is a first connectivity check)
    await store.close()
    source = await open_side(source_url, target=False)
    target = await open_side(target_url, target=True)
    try:
        latest = migrations(source.dialect)[-1].version
        if (have := await source.version()) != latest:
            raise StoreError(f"the source is at schema version {have}, not {latest}: "
                             "run `inquiry-router migrate` on it first")
        if any([await target.count(t) for t, _ in TABLES]):
            if not force:
                raise StoreError("the target already holds data; use --force to replace it")
            await target.clear()
        for table, key in TABLES:
            cols = await source.columns(table)
            total, done = await source.count(table), 0
            async for rows in source.batches(table, cols, key, batch):
                await target.insert(table, cols, rows)
                done += len(rows)
                if progress:
                    progress(table, done, total)
        await target.finish()
        reports = []
        for table, key in TABLES:
            cols = await source.columns(table)
            n_src, sum_src = await checksum(source, table, cols, key)
            n_dst, sum_dst = await checksum(target, table, cols, key)
            reports.append(TableReport(table, n_src, n_dst, sum_src, sum_dst))
        return reports
    finally:
        await source.close()
        await target.close()


def stderr_progress(stream: TextIO = sys.stderr) -> Progress:
    def show(table: str, done: int, total: int) -> None:
        end = "\n" if done >= total else ""
        stream.write(f"\r{table}: {done}/{total} rows{end}")
        stream.flush()

    return show
