"""SQLite backend: one writer with group commit, a separate reader connection.

Why not a statement-per-thread-hop driver for writes: a message costs about ten small
statements, and a thread hop per statement costs more than the statement itself. Units of
work run on the event loop against the writer connection (each statement is microseconds
of in-memory work in WAL mode); all units queued while one batch runs share the next
`COMMIT`. In WAL mode with `synchronous=NORMAL` a COMMIT only appends to the log, so it
runs inline; the checkpoint, which copies the log into the database and fsyncs, runs in
a worker thread between batches. Background units (work nobody waits for) get a bounded
share while foreground units keep arriving, and step aside while the event loop is
saturated: see `SqliteStore.__init__`. Within the background share, units that finish
work under way (`ahead`: the outbox's leases) go before the processing of new messages.
`synchronous=NORMAL` in WAL mode keeps every committed transaction across a process crash
(`kill -9`); only an OS crash or power loss may roll back the last commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from router.domain.errors import StoreError
from router.store.base import Store, Tx, utcnow
from router.store.hooks import TxHooks
from router.store.loop_load import LoopLoad
from router.store.migrate import migrations, split_statements
from router.store.sqlite_tx import SqliteTx

log = logging.getLogger(__name__)
T = TypeVar("T")
# WAL checkpoints (automatic ones are off: they would run inside a COMMIT, on the event
# loop): after about this much work, counted as units plus a weight per commit (each
# commit rewrites the pages it touched).
CHECKPOINT_EVERY = 1000
CHECKPOINT_COMMIT_WEIGHT = 10
FOREGROUND_QUIET = 0.02  # seconds without foreground units before background work takes over
# Background units per batch otherwise: a foreground unit arriving meanwhile waits for at
# most this many (a processed message is about half a millisecond of work).
BACKGROUND_BATCH = 32
# The event loop's thread is saturated when it is on the CPU this share of the time.
SATURATED = 0.85
# While saturated, background work takes one unit every this many batches: it slows to a
# trickle (the oldest pending replies still go out) but never stops.
YIELD_BATCHES = 8
# ...unless the oldest background unit has waited this long (seconds): then it gets
# AGED_SHARE units per batch whatever the load. Saturation is an 85 % share of the CPU,
# which a service at 1,000 new conversations a second reaches in normal operation, and
# there the trickle made every reply wait hundreds of milliseconds for its processing
# while acknowledgements, which platforms allow seconds, were answered in milliseconds
# (issue 28). An acknowledgement still goes first in every cycle. The share is a quarter
# of a full one: with all 32 under a flood of webhooks, acknowledgements fell from 4,500
# to 3,200 a second (the backlog only drained sooner); with 8 they stayed at 4,200-4,500
# and 1,000 new conversations a second still had p99 under 200 ms (docs/benchmarks.md).
# The wait was 50 ms until session 17: near saturation every reply then waited about
# that long for its processing. A/B, two turns each, loopback at 1,000 a second, p99 new
# / continuing: 165-184 / 130-136 ms at 50 ms, 94-105 / 58-66 at 20, 72-73 / 45-54 at 10;
# about 3 % more CPU a message (commits carry fewer units); under a flood (the ingest
# benchmark, where the backlog is always older than this) acknowledgements alike.
BACKGROUND_MAX_WAIT = 0.01
# Commits gather units for `commit_interval` only as the event loop's thread nears
# saturation: not below this share of a core, fully from the next (see `gather`).
GATHER_FROM = 0.3
GATHER_FULL = 0.8
# Units lease their own replies while the event loop's thread is below this share of a
# core (`leases_in_unit`): at 100 new conversations a second that is a commit fewer
# before each reply (p50 6.4 -> 4.7 ms, p99 16 -> 9 ms); near saturation a lease round
# carries dozens of rows per commit, and a lease per unit cost 5-8 % more CPU a message
# at 400 a second. A/B of 0.5 against 0.75 (two turns each): at 200 a second p50 9.0-14.9
# against 13.8-24.6 ms for new conversations, at no more CPU; alike at 100 and 400.
LEASE_IN_UNIT_BELOW = 0.75
AGED_SHARE = 8
ANSWER_HOPS = 2

_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=10000",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA cache_size=-32000",
)


def _checkpoint(conn: sqlite3.Connection) -> None:
    # fetched to the end: a statement left open would block the next SAVEPOINT
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


@dataclass(slots=True)
class _Job:
    fn: Callable[[Tx], Awaitable[Any]]
    future: asyncio.Future[Any]
    queued_at: float = 0.0  # time.monotonic() when handed to the writer
    result: Any = None
    error: BaseException | None = None
    done: bool = field(default=False)


class SqliteStore(Store):
    hooks: TxHooks | None = None  # handed to every write transaction (router/store/hooks.py)

    def __init__(self, path: str | Path, *, max_batch: int = 512,
                 background_share: int = BACKGROUND_BATCH,
                 commit_interval: float = 0.004) -> None:
        """`background_share`: background units (processing of accepted messages, outbox
        bookkeeping, timers) committed after each foreground batch while foreground units
        (someone waits: a webhook's acknowledgement, an agent) keep coming and the loop
        has room. When the loop is saturated, background work steps aside (one unit every
        `YIELD_BATCHES` batches): platforms time out on acknowledgements, while the
        backlog is bounded (`service.max_backlog`) and worked off at full speed once the
        burst passes. The share is a full batch: every message needs two or three
        background units (its processing, the reply's lease and its "sent" mark), and
        at 2 per batch they topped out near 400 units a second, so past ~170 new
        conversations a second every reply queued for seconds while the CPU idled
        (issue 28). Background units commit separately from the foreground batch, so
        an acknowledgement never waits for the processing committed with it.
        `commit_interval`: under foreground load on a busy event loop, commits come at
        most this often, so each carries more units (the answer waits at most this much
        longer); see `gather`."""
        self.path = Path(path)
        self.max_batch = max_batch
        self.background_share = max(1, background_share)
        self._load = LoopLoad()
        self._yielded = 0  # batches in a row without background units while saturated
        self.commit_interval = commit_interval
        self._writer: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._foreground: deque[_Job] = deque()
        self._background: deque[_Job] = deque()
        self._ahead: deque[_Job] = deque()  # background units served first (`write`)
        self._wakeup = asyncio.Event()
        self._closing = False
        self._foreground_seen = 0.0
        self._last_commit = 0.0
        self._since_checkpoint = 0
        self._task: asyncio.Task[None] | None = None
        self._read_lock = asyncio.Lock()
        self.commits = 0  # batches committed, for tests and metrics
        self.units = 0  # units of work committed

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        for pragma in _PRAGMAS:
            conn.execute(pragma)
        return conn

    def _create_owner_only(self) -> None:
        """Directory 0700, database 0600 before SQLite creates it (its -wal and -shm files
        take the database's mode); files left 0644 by an earlier version are tightened."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError, PermissionError):
                os.chmod(f"{self.path}{suffix}", 0o600)

    async def open(self) -> None:
        self._create_owner_only()
        try:
            self._writer = self._connect()
            self._migrate(self._writer)
            # Checkpoints are ours (`_checkpoint_wal`, in a thread): an automatic one runs
            # inside a COMMIT, which would then fsync on the event loop.
            self._writer.execute("PRAGMA wal_autocheckpoint=0")
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
        for conn in (self._reader, self._writer):
            if conn is not None:
                conn.close()
        self._writer = self._reader = None

    async def write(self, fn: Callable[[Tx], Awaitable[T]], *, background: bool = False,
                    ahead: bool = False, one_statement: bool = False) -> T:
        """`ahead` background units (the outbox's leases) are served before the other
        background units: a lease round waiting behind the backlog's 128 processing units
        leased at most `outbox.concurrency` rows per ~100 ms, so past ~700 new
        conversations a second the replies of processed messages queued for seconds
        (issue 28). `one_statement` changes nothing here: every unit shares its batch's
        transaction."""
        if self._task is None or self._task.done() or self._closing:
            raise StoreError("the store is closed")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        queue = self._foreground if not background else self._ahead if ahead else self._background
        queue.append(_Job(fn, future, time.monotonic()))
        self._wakeup.set()
        # No shield: a caller cancelled while its unit waits cancels only this future; the
        # unit still runs and commits, and the writer does not answer a future that is done.
        return await future

    async def read(self, fn: Callable[[Tx], Awaitable[T]], *, one_statement: bool = False) -> T:
        if self._reader is None:
            raise StoreError("the store is closed")
        async with self._read_lock:
            self._reader.execute("BEGIN")
            try:
                return await fn(SqliteTx(self._reader))
            finally:
                self._reader.execute("COMMIT")

    async def _run(self) -> None:
        foreground, background, ahead = self._foreground, self._background, self._ahead
        while True:
            if not foreground and not background and not ahead:
                if self._closing:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            # Group commit: a commit rewrites every page its units touched (a message
            # touches some 30), so one commit carrying many units costs little more than
            # one carrying a single unit. Under load, units gather for a moment first.
            now = time.monotonic()
            busy = now - self._foreground_seen < FOREGROUND_QUIET
            wait = self._last_commit + self.gather(now) - now
            if busy and wait > 0 and len(foreground) < self.max_batch:
                await asyncio.sleep(wait)
                now = time.monotonic()
            self._last_commit = now
            batch = [foreground.popleft() for _ in range(min(len(foreground), self.max_batch))]
            if batch:
                self._foreground_seen = now
            # Foreground units arrive between batches (a webhook's next request comes in
            # after the previous answer went out), so "none queued right now" does not
            # mean idle: background work gets its full share only after a quiet spell.
            room = self._background_room(busy or bool(batch), now)
            if batch:
                await self._commit(batch)
                if ahead or (room and background):
                    # The answers go out before background work runs. A result reaches
                    # its caller through a few callbacks (the future's, then the caller's
                    # task), each one loop iteration.
                    for _ in range(ANSWER_HOPS):
                        await asyncio.sleep(0)
            # `ahead` units are few (a lease round at a time) and each finishes replies
            # already decided, so they do not step aside while the loop is saturated
            extra = [ahead.popleft() for _ in range(min(len(ahead), self.max_batch))]
            extra += [background.popleft() for _ in range(min(len(background), room))]
            if extra:
                await self._commit(extra)
            if self._since_checkpoint >= CHECKPOINT_EVERY:
                self._since_checkpoint = 0
                await self._checkpoint_wal()
            # Let the units' callers run (answer, send the next request) before the next
            # batch is formed: units never suspend, so nothing else ran meanwhile.
            await asyncio.sleep(0)

    def leases_in_unit(self) -> bool:
        return self._load.update(time.monotonic()) < LEASE_IN_UNIT_BELOW

    def gather(self, now: float) -> float:
        """Seconds between commits under foreground load: none while the event loop has
        room (below `GATHER_FROM` of a core), `commit_interval` once it is near saturation
        (`GATHER_FULL`), in proportion between. Gathering pays only when commits are what
        the CPU is short of: at 100 new conversations a second every acknowledgement
        came within 20 ms of the last, so every commit waited its 4 ms, and a message
        passes three commits (stored, processed, leased) before its reply leaves: 12 ms
        of its 12-13 ms end to end on an idle machine (issue 28)."""
        share = (self._load.update(now) - GATHER_FROM) / (GATHER_FULL - GATHER_FROM)
        return self.commit_interval * min(1.0, max(0.0, share))

    def _background_room(self, busy: bool, now: float) -> int:
        """How many background units to commit in this cycle."""
        if not busy:
            return BACKGROUND_BATCH
        if self._load.update(now) < SATURATED:
            self._yielded = 0
            return self.background_share
        background = self._background
        if background and now - background[0].queued_at >= BACKGROUND_MAX_WAIT:
            self._yielded = 0
            return min(self.background_share, AGED_SHARE)
        if self._yielded < YIELD_BATCHES:
            self._yielded += 1
            return 0
        self._yielded = 0
        return 1

    @staticmethod
    async def _run_together(tx: SqliteTx, batch: list[_Job]) -> _Job | None:
        """Run the units one after the other in the open transaction; the first one that
        fails (it keeps its error), or None. No savepoint per unit: a savepoint copies
        every page the unit changes that earlier units of the batch had changed already
        (the hot pages at the end of each table and index) in case it is rolled back,
        and a batch where nothing fails, the usual case, needs none of those copies."""
        for job in batch:
            try:
                job.result = await job.fn(tx)
            except Exception as exc:
                job.error = exc
                return job
        return None

    @staticmethod
    async def _run_isolated(tx: SqliteTx, batch: list[_Job]) -> None:
        """Run each unit in its own savepoint: one unit's failure must not sink its batch."""
        conn = tx.c
        for job in batch:
            conn.execute("SAVEPOINT unit")
            try:
                job.result = await job.fn(tx)
                job.error = None
                conn.execute("RELEASE unit")
            except Exception as exc:
                conn.execute("ROLLBACK TO unit")
                conn.execute("RELEASE unit")
                job.result, job.error = None, exc

    async def _checkpoint_wal(self) -> None:
        """Copy the WAL into the database file and fsync it, in a thread, between batches.

        Run by the writer itself while no unit runs: only a checkpoint that catches up
        with the last commit lets the next transaction start the WAL file over (one run
        concurrently with the writer never catches up, and the file grows without end).
        """
        assert self._writer is not None
        try:
            await asyncio.to_thread(_checkpoint, self._writer)
        except sqlite3.Error as exc:
            log.warning("WAL checkpoint failed (retried later): %s", exc)

    async def _commit(self, batch: list[_Job]) -> None:
        conn = self._writer
        assert conn is not None
        tx = SqliteTx(conn)
        tx.hooks = self.hooks
        try:
            conn.execute("BEGIN IMMEDIATE")
            failed = await self._run_together(tx, batch)
            if failed is not None:
                # Nothing of this batch is kept: run it again, the failed unit left out (it
                # failed on the same state it would see again) and each of the others in
                # its own savepoint, so a second failure costs only its own unit. Units
                # may run again: they do store work only (see `Store.write`).
                conn.execute("ROLLBACK")
                conn.execute("BEGIN IMMEDIATE")
                await self._run_isolated(tx, [job for job in batch if job is not failed])
            # WAL with synchronous=NORMAL: a COMMIT appends to the log without fsync, tens
            # of microseconds, so it runs inline (a thread hop per batch cost more than
            # the commit). The one slow part, the checkpoint, runs in a thread (below).
            conn.execute("COMMIT")
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
        self._since_checkpoint += len(batch) + CHECKPOINT_COMMIT_WEIGHT
        if self.hooks is not None:
            self.hooks.committed(tx)
        for job in batch:
            if job.future.done():
                continue
            if job.error is not None:
                job.future.set_exception(job.error)
            else:
                job.future.set_result(job.result)
