"""The PostgreSQL backend's statement primitives and dialect hooks for `SqlTx`.

Differences from SQLite, all for several instances writing at once (READ COMMITTED):
- rows a write unit reads in order to change them are locked (`FOR NO KEY UPDATE`), so
  two units on one conversation queue up instead of losing an update;
- find-or-create of an identity or of a thread's conversation takes a transaction-level
  advisory lock on the name, so two instances never create two of them;
- claims and outbox leases skip rows another unit holds (`SKIP LOCKED`): never a wait,
  never a deadlock, and two instances never lease one outbox row;
- events are buffered and inserted at the end of the unit under one advisory lock, just
  before the commit (see `finish`), so event ids become visible in id order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

import asyncpg

from router.domain.errors import StoreError
from router.domain.model import Event, OutboxRow
from router.store.base import LeaseRound, ts
from router.store.postgres_merge import (
    exec_then_lock_sql,
    finish_sql,
    insert_then_sql,
    later_sql,
    to_dollar,
)
from router.store.postgres_outbox import LEASE_ROUND, lease_params, lease_round
from router.store.sql_base import Params
from router.store.sql_conversations import PG_BOT_REPLY_TIMES, PG_BOT_REPLY_TIMES_NEWEST
from router.store.sql_outbox import OUTBOX_CLAIM, claim_params
from router.store.sql_rows import dumps
from router.store.sql_rows import outbox as outbox_row
from router.store.sql_tx import SqlTx

CHANNEL = "inquiry_router"  # LISTEN/NOTIFY: "a unit wrote events or outbox rows" (`channel_for` scopes it)
#: the advisory lock serialising event ids, taken inside COMMIT by the trigger of
#: migrations 0018 and 0019 (whose SQL has the number, 446687200)
EVENTS_LOCK = 0x1A9F_E7E0


#: the end of a commit NOTIFY's payload when the commits it covers left no outbox row to a
#: lease round (their writers leased what they wrote); other instances' dispatchers then
#: need not look. A payload without it (an instance of an earlier version sends its
#: name alone) wakes them.
NOTHING_LEFT = "\n-"


def notify_payload(instance: str, outbox_left: bool) -> str:
    return instance if outbox_left else instance + NOTHING_LEFT


class PgTx(SqlTx):
    locks_keys = True
    fts = "postgresql"  # search: tsvector side tables (router/store/sql_search.py)
    # the contact's conversations first, whatever the statistics (sql_conversations.py)
    bot_reply_sql = (PG_BOT_REPLY_TIMES, PG_BOT_REPLY_TIMES_NEWEST)

    def __init__(self, conn: asyncpg.Connection, *, writable: bool,
                 one_statement: bool = False) -> None:
        self.c = conn
        self.writable = writable
        # outside a transaction block (`Store.write(one_statement=True)`): the first
        # statement commits on its own, so a second one would not be atomic with it
        self.one_statement = one_statement
        self._ran_a_statement = False
        self.for_update = " FOR NO KEY UPDATE" if writable else ""
        self.skip_locked = " FOR NO KEY UPDATE SKIP LOCKED" if writable else ""
        self._events: list[tuple[Any, ...]] = []
        self.outbox_rows = 0  # outbox rows this unit inserted
        self.outbox_claimed = 0  # ...and leased itself (`outbox_claim`)
        #: the NOTIFY `finish` sent: None none, True one saying rows may be left to a
        #: lease round, False one saying none are (`notify_payload`)
        self.notified_outbox: bool | None = None
        self.left_commits_seen = 0  # the store's count when `finish` ran (its `_committed`)
        self._held: set[str] = set()  # advisory lock names taken in this transaction
        self._later: list[tuple[str, Params]] = []  # `_exec_later` writes not sent yet
        self.notify_skipped = False  # see `finish`
        #: `outbox_claim` waiting for `finish`: its parameters and the list it fills
        self._claim: tuple[tuple[Any, ...], list[OutboxRow]] | None = None

    async def _statement(self) -> None:
        """Before a statement: in a one-statement unit, refuse the second; send the writes
        deferred so far (`_exec_later`) first, so the statement sees them."""
        self._count_statement()
        if self._later:
            await self._flush_later()

    def _count_statement(self) -> None:
        if self.one_statement and self._ran_a_statement:
            raise StoreError("a one-statement unit of work ran a second statement "
                             "(its first one committed alone)")
        self._ran_a_statement = True

    async def _exec_later(self, sql: str, params: Params = ()) -> None:
        """Kept until the unit's next statement, or its end, and sent with it: one round
        trip fewer for the writes that end a unit (the conversation's update, a new
        contact's language). A statement run meanwhile sends them first (it may read
        what they change), so the unit sees its writes as if they had run at once."""
        self._later.append((sql, params))

    def _take_later(self) -> tuple[tuple[str, ...], list[Any]]:
        """The deferred writes' statements and their parameters in order; none left."""
        later, self._later = self._later, []
        return tuple(sql for sql, _ in later), [p for _, params in later for p in params]

    async def _flush_later(self) -> None:
        later, params = self._take_later()
        self._count_statement()
        await self.c.execute(later_sql(later), *params)

    def _note_outbox(self, *statements: str) -> None:
        """A unit that inserts outbox rows NOTIFYs at its end (dispatchers elsewhere), and
        says whether it leased them all (`outbox_left`)."""
        self.outbox_rows += sum(statement.startswith("INSERT INTO outbox")
                                for statement in statements)

    @property
    def wrote_outbox(self) -> bool:
        return self.outbox_rows > 0

    def outbox_left(self) -> bool:
        """After the commit: whether the unit left outbox rows to a lease round."""
        return self.outbox_rows > self.outbox_claimed

    async def _one(self, sql: str, params: Params = ()) -> Sequence[Any] | None:
        await self._statement()
        row = await self.c.fetchrow(to_dollar(sql), *params)
        return tuple(row) if row is not None else None

    async def _all(self, sql: str, params: Params = ()) -> list[Sequence[Any]]:
        await self._statement()
        return [tuple(r) for r in await self.c.fetch(to_dollar(sql), *params)]

    async def _exec(self, sql: str, params: Params = ()) -> int:
        await self._statement()
        status = await self.c.execute(to_dollar(sql), *params)
        last = status.rsplit(" ", 1)[-1]  # "UPDATE 3", "INSERT 0 1"
        return int(last) if last.isdigit() else 0

    async def _insert(self, sql: str, params: Params = ()) -> int:
        await self._statement()
        self._note_outbox(sql)
        return int(await self.c.fetchval(to_dollar(sql) + " RETURNING id", *params))

    async def _insert_then(self, sql: str, params: Params,
                           then: Sequence[tuple[str, Params]]) -> int:
        """One round trip for the row and what belongs to it (`insert_then_sql`)."""
        if not then:
            return await self._insert(sql, params)
        await self._statement()
        statements = tuple(statement for statement, _ in then)
        self._note_outbox(sql, *statements)
        args = [*params, *(p for _, more in then for p in more)]
        return int(await self.c.fetchval(insert_then_sql(sql, statements), *args))

    async def _many(self, sql: str, seq: Iterable[Params]) -> None:
        batch = list(seq)
        if batch:
            await self._statement()
            await self.c.executemany(to_dollar(sql), batch)

    async def outbox_lease_round(self, now: datetime, until: datetime, limit: int,
                                 unreachable_prefix: str,
                                 sent: Sequence[tuple[int, str]] = ()) -> LeaseRound:
        """One statement instead of six round trips, and the marks of what was sent
        since the last round (router/store/postgres_outbox.py)."""
        await self._statement()
        found = await self.c.fetch(LEASE_ROUND, *lease_params(now, until, limit,
                                                               unreachable_prefix, sent))
        return lease_round(found, limit)

    async def outbox_claim(self, conversation_id: int, channel: str, thread_key: str,
                           now: datetime, until: datetime,
                           unreachable_key: str) -> list[OutboxRow]:
        """Sent with the unit's last statement (`finish`), not in a round trip of its own;
        the list returned is filled there, before the unit commits. Nothing the unit
        does after it reads the lease it takes."""
        claimed: list[OutboxRow] = []
        self._claim = (claim_params(conversation_id, channel, thread_key, now, until,
                                    unreachable_key), claimed)
        return claimed

    async def _lock_keys(self, *keys: str) -> None:
        if not self.writable:
            return
        wanted = [key for key in keys if key not in self._held]
        if not wanted:
            return  # held since the unit's first statement (`_exec_then_lock`)
        await self._statement()
        # Sorted, so two units locking overlapping key sets cannot deadlock each other.
        await self.c.execute(
            "SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtextextended(k, 0) AS h "
            "FROM unnest($1::text[]) AS k ORDER BY h) AS s", wanted)
        self._held.update(wanted)

    async def _exec_then_lock(self, sql: str, params: Params,
                              names: Sequence[Sequence[str]]) -> int:
        """The statement, then the locks group by group (each sorted, as `_lock_keys`
        takes them, so the order is the one separate statements had), in one round trip:
        the processing unit's inbox take with the locks its contact and conversation
        lookups take (issue 28)."""
        if not self.writable:
            return await self._exec(sql, params)
        await self._statement()
        keys = [key for group in names for key in group]
        groups = [number for number, group in enumerate(names) for _ in group]
        changed = await self.c.fetchval(exec_then_lock_sql(sql), *params, keys, groups)
        self._held.update(keys)
        return int(changed)

    async def _try_lock_conversation(self, conversation_id: int) -> bool:
        if not self.writable:
            return True
        await self._statement()
        return await self.c.fetchval(
            "SELECT id FROM conversations WHERE id = $1 FOR NO KEY UPDATE SKIP LOCKED",
            conversation_id) is not None

    async def insert_event(self, event: Event) -> int:
        """Buffered until `finish`: returns 0, the id exists only once the unit ends.

        Why: a BIGSERIAL taken mid-transaction may commit after a larger one, and a
        stream resuming "after id N" would skip it for good. Every unit's events are
        inserted under one advisory lock held until its commit is visible, which makes
        ids visible in order; `finish` stages them and COMMIT moves them under the lock
        (migrations 0018, 0019), so the lock is held for the server's part of a commit only.
        """
        self._events.append((event.conversation_id, event.kind, event.actor,
                             dumps(event.data), ts(event.created_at)))
        if self.hooks is not None:  # issue 27: outgoing webhooks
            await self.hooks.event(self, event)
        return 0

    async def finish(self, instance: str, channel: str,
                     may_notify: Callable[[], bool] = lambda: True,
                     outbox_before: bool = False) -> None:
        """End of a write unit, inside its transaction: the deferred writes
        (`_exec_later`), the unit's events staged for its COMMIT to number, and the NOTIFY,
        in one statement (one round trip, router/store/postgres_merge.py). The events
        lock had been taken here and held through the COMMIT round trip: with three
        instances at 200 new conversations a second, fifteen backends at a time waited on
        it, each holder waiting for its busy instance to send COMMIT (issue 28).
        `may_notify` is asked only by a unit that has something to NOTIFY (events or
        outbox rows); when it says no, `notify_skipped` tells the store to send one later
        (`PostgresStore._notify_later`). The NOTIFY says whether rows may be left to a
        lease round (`notify_payload`): this unit's, unless it leases the one it wrote,
        or earlier units' whose commits it covers (`outbox_before`)."""
        notify = bool(self._events or self.wrote_outbox) and may_notify()
        self.notify_skipped = bool(self._events or self.wrote_outbox) and not notify
        claim, self._claim = self._claim, None
        if not self._events and not notify:
            if self._later:
                await self._flush_later()
            if claim is not None:
                claim[1][:] = [outbox_row(r) for r in await self._all(OUTBOX_CLAIM, claim[0])]
                self.outbox_claimed = len(claim[1])
            return
        later, deferred = self._take_later()
        self._count_statement()
        args = list(zip(*self._events, strict=True)) if self._events else []
        if notify:
            self.notified_outbox = outbox_before or self.outbox_rows > (claim is not None)
            args += [channel, notify_payload(instance, self.notified_outbox)]
        sql = finish_sql(later, bool(self._events), notify, claim is not None)
        if claim is None:
            await self.c.execute(sql, *args, *deferred)
            return
        found = await self.c.fetch(sql, *args, *deferred, *claim[0])
        claim[1][:] = [outbox_row(tuple(r)[1:]) for r in found if r[1] is not None]
        self.outbox_claimed = len(claim[1])
