"""SQLite backend: one writer with group commit, a separate reader connection.

Why not a statement-per-thread-hop driver for writes: a message costs about ten small
statements, and a thread hop per statement costs more than the statement itself. Units of
work run on the event loop against the writer connection (each statement is microseconds
of in-memory work in WAL mode); all units queued while one batch runs share the next
`COMMIT`, which runs in a worker thread because it may checkpoint and touch the disk.
`synchronous=NORMAL` in WAL mode keeps every committed transaction across a process crash
(`kill -9`); only an OS crash or power loss may roll back the last commits.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from router.errors import StoreError
from router.store.base import Store, Tx, utcnow
from router.store.migrate import migrations, split_statements
from router.store.sqlite_tx import SqliteTx

log = logging.getLogger(__name__)
T = TypeVar("T")

_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=10000",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA cache_size=-32000",
)


@dataclass(slots=True)
class _Job:
    fn: Callable[[Tx], Awaitable[Any]]
    future: asyncio.Future[Any]
    result: Any = None
    error: BaseException | None = None
    done: bool = field(default=False)


class SqliteStore(Store):
    def __init__(self, path: str | Path, *, max_batch: int = 512,
                 background_share: int = 4) -> None:
        """`background_share`: background units (processing of accepted messages) taken
        into a batch while foreground units wait. Acknowledgements stay quick under a
        burst; the backlog is worked off at full speed as soon as the burst passes."""
        self.path = Path(path)
        self.max_batch = max_batch
        self.background_share = background_share
        self._writer: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._foreground: deque[_Job] = deque()
        self._background: deque[_Job] = deque()
        self._wakeup = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._read_lock = asyncio.Lock()
        self.commits = 0  # batches committed, for tests and metrics
        self.units = 0  # units of work committed

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        for pragma in _PRAGMAS:
            conn.execute(pragma)
        return conn

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._writer = self._connect()
            self._migrate(self._writer)
            # One process owns a SQLite database, so any lease still held belongs to a
            # previous run that died mid-send: release it now rather than waiting for it
            # to expire (an expired lease would also hold back the rest of its thread).
            self._writer.execute("UPDATE outbox SET lease_until = NULL "
                                 "WHERE status = 'pending' AND lease_until IS NOT NULL")
            self._reader = self._connect()
            self._reader.execute("PRAGMA query_only=ON")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open SQLite database {self.path}: {exc}") from None
        self._task = asyncio.create_task(self._run(), name="sqlite-writer")

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
                     "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
        applied = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
        for migration in migrations("sqlite"):
            if migration.version in applied:
                continue
            log.info("applying migration %s", migration.name)
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in split_statements(migration.sql):
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)",
                             (migration.version, migration.name, utcnow().isoformat()))
                conn.execute("COMMIT")
            except sqlite3.DatabaseError:
                conn.execute("ROLLBACK")
                raise

    async def schema_version(self) -> int:
        assert self._reader is not None
        row = self._reader.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()
        return int(row[0])

    async def close(self) -> None:
        if self._task is not None:
            self._closing = True  # the writer finishes every queued unit, then stops
            self._wakeup.set()
            await self._task
            self._task = None
        for conn in (self._writer, self._reader):
            if conn is not None:
                conn.close()
        self._writer = self._reader = None

    async def write(self, fn: Callable[[Tx], Awaitable[T]], *, background: bool = False) -> T:
        if self._task is None or self._task.done() or self._closing:
            raise StoreError("the store is closed")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        (self._background if background else self._foreground).append(_Job(fn, future))
        self._wakeup.set()
        return await asyncio.shield(future)

    async def read(self, fn: Callable[[Tx], Awaitable[T]]) -> T:
        if self._reader is None:
            raise StoreError("the store is closed")
        async with self._read_lock:
            self._reader.execute("BEGIN")
            try:
                return await fn(SqliteTx(self._reader))
            finally:
                self._reader.execute("COMMIT")

    async def _run(self) -> None:
        foreground, background = self._foreground, self._background
        while True:
            if not foreground and not background:
                if self._closing:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch = [foreground.popleft() for _ in range(min(len(foreground), self.max_batch))]
            room = self.background_share if batch else self.max_batch
            batch += [background.popleft() for _ in range(min(len(background), room))]
            await self._commit(batch)

    async def _commit(self, batch: list[_Job]) -> None:
        conn = self._writer
        assert conn is not None
        tx = SqliteTx(conn)
        try:
            conn.execute("BEGIN IMMEDIATE")
            for job in batch:
                conn.execute("SAVEPOINT unit")
                try:
                    job.result = await job.fn(tx)
                    conn.execute("RELEASE unit")
                except Exception as exc:  # one unit's failure must not sink its batch
                    conn.execute("ROLLBACK TO unit")
                    conn.execute("RELEASE unit")
                    job.error = exc
            await asyncio.to_thread(conn.execute, "COMMIT")
        except sqlite3.Error as exc:
            log.error("commit of %d units failed: %s", len(batch), exc)
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            for job in batch:
                if not job.future.done():
                    job.future.set_exception(StoreError(f"commit failed: {exc}"))
            return
        self.commits += 1
        self.units += len(batch)
        for job in batch:
            if job.future.done():
                continue
            if job.error is not None:
                job.future.set_exception(job.error)
            else:
                job.future.set_result(job.result)
