"""PostgreSQL backend: several `serve` processes share one database (asyncpg).

- `write(fn)` is one READ COMMITTED transaction per unit of work on a pooled connection;
  row locks, advisory locks and SKIP LOCKED in `PgTx` keep concurrent units correct. A
  unit that PostgreSQL aborts for a deadlock or a serialisation failure is run again
  (units do store work only, so a rerun is safe).
- `read(fn)` is a read-only REPEATABLE READ transaction: one consistent snapshot.
- Migrations run under a session advisory lock: instances starting together apply each
  migration once; the others wait and find it applied.
- A dedicated connection LISTENs on `PgTx` NOTIFYs: a commit on any instance wakes the
  live streams, the scheduler and the outbox dispatcher of every other instance. When that
  connection drops (server restart, `pg_terminate_backend`, network), a supervisor task
  reconnects with capped exponential backoff (logged) and then runs the remote-commit
  callbacks once, for commits whose NOTIFY was missed while it was down.

- Every pooled connection is opened at start, kept open however long it idles, and
  warmed (`warm`): a burst must not find cold connections (issue 28).

URL: `postgresql://user@host:5432/db?pool_min=10&pool_max=10`; other query parameters
(e.g. `search_path=...`) go to asyncpg and become server settings of each connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

from router.domain.errors import StoreError
from router.domain.tasks import cancel_and_wait
from router.store.base import BROADCAST_MAX_BYTES, Store, Tx, utcnow
from router.store.hooks import TxHooks
from router.store.migrate import migrations, split_statements
from router.store.postgres_notify import BatchedNotify
from router.store.postgres_tx import CHANNEL, NOTHING_LEFT, PgTx, notify_payload

#: LISTEN/NOTIFY channel of `broadcast`; a message is instance, topic and payload, one per line
BROADCAST_CHANNEL = "inquiry_router_broadcast"
_MAX_CHANNEL_BYTES = 63  # PostgreSQL's identifiers (NAMEDATALEN - 1)


def channel_for(base: str, schema: str) -> str:
    """The LISTEN/NOTIFY channel `base` of the deployment whose tables are in `schema`.

    Channels belong to the database, not to a schema: deployments sharing a database in
    schemas of their own (`?search_path=...`) had woken each other's dispatchers and
    followers and received each other's broadcasts (web chat frames). The default schema
    keeps the plain name, which earlier versions used, so a rolling upgrade still wakes."""
    if schema == "public":
        return base
    named = f"{base}:{schema}"
    if len(named.encode()) <= _MAX_CHANNEL_BYTES:
        return named
    return f"{base}:{hashlib.sha256(schema.encode()).hexdigest()[:24]}"

log = logging.getLogger(__name__)
T = TypeVar("T")
MIGRATE_LOCK = 0x1A9F_E7E1
RETRIES = 5
_RETRYABLE = (asyncpg.exceptions.DeadlockDetectedError,
              asyncpg.exceptions.SerializationError)
#: how asyncpg reports a connection cut under us (server restart, failover,
#: pg_terminate_backend), depending on where the connection was when the news came:
#: callers get a StoreError (503 on the HTTP API, a retry in the pipeline) instead
_CONNECTION_LOST = (OSError, asyncpg.InterfaceError,
                    asyncpg.exceptions.PostgresConnectionError,
                    asyncpg.exceptions.AdminShutdownError,
                    asyncpg.exceptions.CrashShutdownError,
                    asyncpg.exceptions.CannotConnectNowError,
                    asyncpg.exceptions.InternalClientError)
FOREGROUND_RESERVE = 2  # pooled connections background units leave free
LISTEN_BACKOFF = (0.1, 10.0)  # first and largest delay (s) between LISTEN reconnect attempts
#: seconds between an instance's NOTIFYs at most (see `PostgresStore._may_notify`)
NOTIFY_EVERY = 0.1


def split_url(url: str) -> tuple[str, int, int]:
    """(asyncpg DSN, pool min, pool max): our pool_* parameters taken out of the URL.
    `pool_min` defaults to `pool_max`: see `PostgresStore.warm`."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    high = int(query.pop("pool_max", "10"))
    low = int(query.pop("pool_min", str(high)))
    if not 1 <= low <= high:
        raise StoreError(f"storage.url: need 1 <= pool_min <= pool_max, got {low}, {high}")
    return urlunsplit(parts._replace(query=urlencode(query))), low, high


class _RolledBack(Exception):
    """Ends a warm-up transaction: nothing it wrote may stay."""


class PostgresStore(Store):
    hooks: TxHooks | None = None  # handed to every write transaction (router/store/hooks.py)
    shared = True  # several `serve` processes on one database

    def __init__(self, url: str) -> None:
        self.dsn, self.pool_min, self.pool_max = split_url(url)
        self._background = asyncio.Semaphore(max(1, self.pool_max - FOREGROUND_RESERVE))
        self._ahead = asyncio.Semaphore(1)  # `ahead` units, one at a time (see `write`)
        self.instance = secrets.token_hex(6)  # tells our own NOTIFYs from other instances'
        # LISTEN/NOTIFY channels, scoped to the schema at `open` (`channel_for`)
        self.channel, self.broadcast_channel = CHANNEL, BROADCAST_CHANNEL
        self._pool: asyncpg.Pool | None = None
        self._listener: asyncpg.Connection | None = None
        self._callbacks: list[Callable[[], None]] = []
        self._outbox_callbacks: list[Callable[[], None]] = []
        # a commit since our last NOTIFY left outbox rows to a lease round (`_notify_due`),
        # and how many such commits were seen (a NOTIFY clears the flag only if none
        # came while it was on its way: `_committed`)
        self._outbox_left = False
        self._left_commits = 0
        self._broadcasts: dict[str, list[Callable[[str], None]]] = {}
        self._listener_lost: asyncio.Event | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self.listen_backoff = LISTEN_BACKOFF
        self.retries = 0  # units rerun after a deadlock or serialisation failure
        self.reconnects = 0  # LISTEN connections re-established after a drop
        self._warm_unit: Callable[[Tx], Awaitable[object]] | None = None
        self._warmed: set[int] = set()  # server pids of the connections warmed
        self.notify_every = NOTIFY_EVERY
        self._notified_at = -NOTIFY_EVERY  # monotonic time of our last NOTIFY
        self._notify_timer: asyncio.TimerHandle | None = None
        # NOTIFYs outside units of work, on the LISTEN connection (postgres_notify.py)
        self.notifies = BatchedNotify(lambda: self._listener, self._acquire,
                                      (StoreError, asyncpg.PostgresError, *_CONNECTION_LOST))

    async def open(self) -> None:
        try:
            # connections are kept however long they idle (asyncpg closes those above
            # min_size after 300 s by default): a new one is cold, see `warm`
            self._pool = await asyncpg.create_pool(self.dsn, min_size=self.pool_min,
                                                   max_size=self.pool_max,
                                                   reset=_keep_session, init=self._warm_one,
                                                   max_inactive_connection_lifetime=0)
            await self._migrate()
            schema = await self._pool.fetchval("SELECT current_schema()")
            self.channel = channel_for(CHANNEL, schema)
            self.broadcast_channel = channel_for(BROADCAST_CHANNEL, schema)
            self._listener_lost = asyncio.Event()
            await self._listen()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            await self.close()
            raise StoreError(f"cannot open PostgreSQL database: {exc}") from None
        self._supervisor = asyncio.create_task(self._keep_listening(), name="pg-listener")

    # --- the LISTEN connection ---------------------------------------------------------
    async def _listen(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            await conn.add_listener(self.channel, self._notified)
            await conn.add_listener(self.broadcast_channel, self._broadcast_received)
        except BaseException:
            conn.terminate()
            raise
        conn.add_termination_listener(self._listener_terminated)
        self._listener = conn

    def _listener_terminated(self, conn: Any) -> None:
        if conn is self._listener and self._listener_lost is not None:
            self._listener_lost.set()  # not on our own close: that clears _listener first

    async def _keep_listening(self) -> None:
        """Reconnect the LISTEN connection whenever it drops, until the store closes."""
        assert self._listener_lost is not None
        while True:
            await self._listener_lost.wait()
            self._listener_lost.clear()
            self._listener = None
            log.warning("PostgreSQL LISTEN connection lost; reconnecting "
                        "(other instances' commits are seen by polling meanwhile)")
            delay, attempt = self.listen_backoff[0], 0
            while True:
                attempt += 1
                try:
                    await self._listen()
                    break
                except (OSError, TimeoutError, asyncpg.PostgresError,
                        asyncpg.InterfaceError) as exc:
                    log.warning("PostgreSQL LISTEN reconnect attempt %d failed: %s; "
                                "next in %.2gs", attempt, exc, delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.listen_backoff[1])
            self.reconnects += 1
            log.info("PostgreSQL LISTEN connection restored (attempt %d)", attempt)
            self._run_callbacks()  # NOTIFYs sent while we were away are lost: catch up once

    async def _migrate(self) -> None:
        assert self._pool is not None
        async with self._pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock($1)", MIGRATE_LOCK)
            try:
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                    "name TEXT NOT NULL, applied_at TEXT NOT NULL)")
                applied = {r[0] for r in await conn.fetch("SELECT version FROM schema_migrations")}
                for migration in migrations("postgresql"):
                    if migration.version in applied:
                        continue
                    log.info("applying migration %s", migration.name)
                    async with conn.transaction():
                        for statement in split_statements(migration.sql):
                            await conn.execute(statement)
                        await conn.execute("INSERT INTO schema_migrations VALUES ($1, $2, $3)",
                                           migration.version, migration.name, utcnow().isoformat())
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATE_LOCK)

    async def warm(self, unit: Callable[[Tx], Awaitable[object]]) -> None:
        """Warm every pooled connection now, and each one the pool opens later.

        Why: a connection's first unit of work cost about ten warm ones (a new backend
        fills its catalog caches and compiles the triggers' PL/pgSQL, and asyncpg
        prepares each statement once per connection). A pool that opened or first used
        connections when a burst came made every instance stall at once for 0.3-0.7 s,
        the 99th percentile of three instances at 200 new conversations a second
        (issue 28). All connections are taken at once here, so each one is warmed."""
        self._warm_unit = unit
        pool = self._pool
        if pool is None:
            return
        started = time.perf_counter()
        taken: list[Any] = []
        try:
            for _ in range(pool.get_max_size()):
                taken.append(await pool.acquire())
            await asyncio.gather(*(self._warm_one(conn) for conn in taken))
        finally:
            for conn in taken:
                await pool.release(conn)
        log.info("warmed %d PostgreSQL connections in %.0f ms", len(taken),
                 (time.perf_counter() - started) * 1000)

    async def _warm_one(self, conn: Any) -> None:
        """`warm`'s unit on `conn`, rolled back; the deferred events trigger fires too
        (SET CONSTRAINTS ALL IMMEDIATE). A failure is logged: warming is an
        optimisation and must never keep the service from starting."""
        unit, pid = self._warm_unit, conn.get_server_pid()
        if unit is None or pid in self._warmed:
            return
        self._warmed.add(pid)
        try:
            async with conn.transaction():
                await conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
                tx = PgTx(conn, writable=True)
                await unit(tx)
                await tx.finish(self.instance, self.channel)
                raise _RolledBack
        except _RolledBack:
            pass
        except Exception as exc:  # see the docstring
            log.warning("warming a PostgreSQL connection failed (%s: %s); its first unit "
                        "of work will be slower", exc.__class__.__name__, exc)

    def on_remote_commit(self, callback: Callable[[], None]) -> None:
        self._callbacks.append(callback)

    def on_remote_outbox(self, callback: Callable[[], None]) -> None:
        self._outbox_callbacks.append(callback)

    def _committed(self, tx: PgTx) -> None:
        """After a unit's commit: what the next NOTIFY says about outbox rows, and whether
        one must follow (`_notify_later`).

        Why: every NOTIFY made every other instance's dispatcher run a lease round 0.2 s
        later, in case the writer could not send what it wrote; with three instances at
        200 messages a second that was a round per instance five times a second, while
        the writers had leased almost every reply in its own unit (issue 28)."""
        left = tx.outbox_left()
        if tx.notified_outbox and tx.left_commits_seen == self._left_commits:
            self._outbox_left = False  # that NOTIFY covered the earlier commits too
        if left and not tx.notified_outbox:
            self._outbox_left = True
            self._left_commits += 1
        if tx.notify_skipped or (left and tx.notified_outbox is False):
            self._notify_later()

    # --- NOTIFY, at most one per `notify_every` seconds ------------------------------
    def _may_notify(self) -> bool:
        """Whether the unit committing now sends the NOTIFY (in its last statement).

        Every instance's LISTEN connection receives every NOTIFY, its own too, and each
        cost the receiving instance about 0.1 ms of CPU (PostgreSQL some more): with one
        per unit, N instances paid N times the cluster's commit rate. At most one per
        `notify_every` (100 ms) per instance: a unit that may not sends none, and one
        NOTIFY of its own follows its commit within the interval (`_notify_later`).
        Below 10 units a second every unit still notifies at once.

        Why 100 ms: what waits on another instance's commit is a live view (an agent's
        console, the Slack workspace, web chat's desk signals), never a customer's reply
        (the instance that commits a reply sends it, and web chat pushes it to other
        instances by `broadcast`, which is not held back). At 20 ms three instances at
        200 messages a second used 4-13 % more CPU per message (A/B, issue 28)."""
        now = time.monotonic()
        if now - self._notified_at < self.notify_every:
            return False
        self._notified_at = now
        return True

    def _notify_later(self) -> None:
        """After the commit of a unit that did not NOTIFY: one NOTIFY when the interval
        ends (a timer already pending covers this commit too: it fires after it)."""
        if self._notify_timer is not None or self._pool is None:
            return
        delay = max(0.0, self._notified_at + self.notify_every - time.monotonic())
        self._notify_timer = asyncio.get_running_loop().call_later(delay, self._notify_due)

    def _notify_due(self) -> None:
        """The interval ended: one NOTIFY covers the commits since (one still on its way
        may have left before them; this one then goes right after it)."""
        self._notify_timer = None
        self._notified_at = time.monotonic()
        self._post_notify()

    def _post_notify(self) -> None:
        left, self._outbox_left = self._outbox_left, False
        self.notifies.post(self.channel, notify_payload(self.instance, left))

    async def broadcast(self, topic: str, payload: str, *, prompt: bool = False) -> None:
        if len(payload.encode()) > BROADCAST_MAX_BYTES:
            raise ValueError(f"a broadcast takes at most {BROADCAST_MAX_BYTES} bytes")
        # not awaited: the sender goes on with its work (the visitor's own socket has the
        # reply); the broadcast follows within `GATHER` (postgres_notify.py), in order
        self.notifies.post(self.broadcast_channel, f"{self.instance}\n{topic}\n{payload}",
                           gather=not prompt)

    def on_broadcast(self, topic: str, callback: Callable[[str], None]) -> None:
        self._broadcasts.setdefault(topic, []).append(callback)

    def _broadcast_received(self, _conn: Any, _pid: int, _channel: str, message: str) -> None:
        sender, _, rest = message.partition("\n")
        topic, _, payload = rest.partition("\n")
        if sender == self.instance:
            return
        for callback in self._broadcasts.get(topic, ()):
            try:
                callback(payload)
            except Exception:
                log.exception("broadcast listener of %s failed", topic)

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        sender, _, _ = payload.partition("\n")
        if sender == self.instance:
            return  # our own commit: the local callbacks already ran
        self._run_callbacks(outbox=not payload.endswith(NOTHING_LEFT))

    def _run_callbacks(self, outbox: bool = True) -> None:
        for callback in [*self._callbacks, *(self._outbox_callbacks if outbox else ())]:
            try:
                callback()
            except Exception:
                log.exception("commit listener failed")

    async def schema_version(self) -> int:
        return await self.read(_schema_version)

    async def close(self) -> None:
        supervisor, self._supervisor = self._supervisor, None
        await cancel_and_wait(supervisor)
        if self._notify_timer is not None:  # the NOTIFY it would send goes now
            self._notify_timer.cancel()
            self._notify_timer = None
            if self._pool is not None:
                self._post_notify()
        await self.notifies.flush()
        if self._listener is not None:
            listener, self._listener = self._listener, None
            try:
                await listener.close(timeout=5)
            except Exception:  # closing a broken connection: nothing left to do
                listener.terminate()
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                await asyncio.wait_for(pool.close(), 10)
            except TimeoutError:
                pool.terminate()

    def _acquire(self) -> Any:
        if self._pool is None:
            raise StoreError("the store is closed")
        return self._pool.acquire()

    async def write(self, fn: Callable[[Tx], Awaitable[T]], *, background: bool = False,
                    ahead: bool = False, one_statement: bool = False) -> T:
        """Each unit has its own transaction on a pooled connection. Background units
        (processing of accepted messages, outbox bookkeeping) share all but
        `FOREGROUND_RESERVE` of the pool's connections, so a burst of them never makes a
        webhook's acknowledgement wait for a connection (issue 28: with every connection
        taken by the backlog's processing, acknowledgements waited seconds). `ahead`
        units (the outbox's lease rounds) do not queue for those: behind the backlog's
        processing units a lease round waited seconds at 400 new conversations a second
        on three instances, so every reply did; they run one at a time instead, on a
        connection of the pool like a foreground unit.
        A `one_statement` unit runs outside a transaction block (the statement is its own
        transaction): on PostgreSQL each round trip costs the instance about 0.1 ms of CPU,
        and a webhook's acknowledgement and a "sent" mark took four of them, two being
        BEGIN and COMMIT (issue 28)."""
        if background:
            async with self._ahead if ahead else self._background:
                return await self._write(fn, one_statement)
        return await self._write(fn, one_statement)

    async def _write(self, fn: Callable[[Tx], Awaitable[T]], one_statement: bool = False) -> T:
        for attempt in range(1, RETRIES + 1):
            try:
                async with self._acquire() as conn, (
                        contextlib.nullcontext() if one_statement else conn.transaction()):
                    tx = PgTx(conn, writable=True, one_statement=one_statement)
                    tx.hooks = self.hooks
                    result = await fn(tx)
                    tx.left_commits_seen = self._left_commits
                    await tx.finish(self.instance, self.channel, self._may_notify,
                                    self._outbox_left)
                self._committed(tx)
                if self.hooks is not None:
                    self.hooks.committed(tx)
                return result
            except _RETRYABLE as exc:
                if attempt == RETRIES:
                    raise StoreError(f"gave up after {RETRIES} attempts: {exc}") from None
                self.retries += 1
                log.info("unit of work rerun after %s", exc.__class__.__name__)
            except _CONNECTION_LOST as exc:
                raise StoreError(f"PostgreSQL connection failed: {exc}") from None
        raise AssertionError("unreachable")

    async def read(self, fn: Callable[[Tx], Awaitable[T]], *, one_statement: bool = False) -> T:
        try:
            if one_statement:  # the statement is its own snapshot (see `Store.read`)
                async with self._acquire() as conn:
                    return await fn(PgTx(conn, writable=False, one_statement=True))
            async with self._acquire() as conn, conn.transaction(
                    isolation="repeatable_read", readonly=True):
                return await fn(PgTx(conn, writable=False))
        except _CONNECTION_LOST as exc:
            raise StoreError(f"PostgreSQL connection failed: {exc}") from None


async def _keep_session(_conn: asyncpg.Connection) -> None:
    """A pooled connection goes back to the pool as it is (asyncpg still rolls back an
    open transaction and drops listeners first).

    asyncpg's default reset sends `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL` on every release: one more round trip per unit of work (3-4 % of an
    instance's CPU under load, issue 28) for state our units never leave behind: their
    locks are transaction-scoped, no unit SETs a session variable or declares a cursor,
    LISTEN has its own connection, and the migration lock is unlocked in `finally`."""


async def _schema_version(tx: Tx) -> int:
    assert isinstance(tx, PgTx)
    return int(await tx.c.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"))
