"""The five statement primitives (and the dialect hooks) every SQL backend provides.

The SQL of the store is written once, with `?` placeholders, in the `Sql*` mixins; a
backend only says how to run a statement (`SqliteTx` over sqlite3, `PgTx` over asyncpg)
and, where the dialects truly differ (row locks, advisory locks), overrides a hook here.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence
from typing import Any

from router.store.base import Tx
from router.store.hooks import TxHooks

Params = Sequence[Any]


class SqlBase(Tx, abc.ABC):
    #: appended to SELECTs whose rows the unit will update (PostgreSQL: a row lock, so
    #: concurrent units on one conversation queue up instead of losing an update).
    for_update: str = ""
    #: whether `_lock_keys` does anything: callers skip building the names when it does not
    #: (SQLite's single writer; the per-message lookups would build them for nothing)
    locks_keys: bool = False
    #: called after an event, a message or a contact is written (router/store/hooks.py);
    #: the store sets it on its write transactions
    hooks: TxHooks | None = None

    @abc.abstractmethod
    async def _one(self, sql: str, params: Params = ()) -> Sequence[Any] | None:
        """The first row, or None."""

    @abc.abstractmethod
    async def _all(self, sql: str, params: Params = ()) -> list[Sequence[Any]]: ...

    @abc.abstractmethod
    async def _exec(self, sql: str, params: Params = ()) -> int:
        """Run a statement; the number of rows it changed."""

    @abc.abstractmethod
    async def _insert(self, sql: str, params: Params = ()) -> int:
        """Run an INSERT into a table with an `id` key; the new id."""

    @abc.abstractmethod
    async def _many(self, sql: str, seq: Iterable[Params]) -> None: ...

    async def _exec_later(self, sql: str, params: Params = ()) -> None:
        """A write whose row count nobody needs: PostgreSQL sends it with the unit's next
        statement, or with its last one (`PgTx`, one round trip fewer per unit that ends
        with one, issue 28); here it runs at once."""
        await self._exec(sql, params)

    async def _insert_then(self, sql: str, params: Params,
                           then: Sequence[tuple[str, Params]]) -> int:
        """INSERT a row (as `_insert`), then run each of `then`'s statements with the new
        id as their first parameter; the new id. A row and what belongs to it (a contact
        and its identity, a message and its outbox row): PostgreSQL sends it all as one
        statement (`PgTx`, one round trip instead of several, issue 28); here it is one
        statement after another, which costs SQLite's in-process writer nothing."""
        new_id = await self._insert(sql, params)
        for statement, more in then:
            await self._exec(statement, (new_id, *more))
        return new_id

    async def _lock_keys(self, *keys: str) -> None:
        """Serialise find-or-create on these names until commit (single writer: no-op)."""

    async def _exec_then_lock(self, sql: str, params: Params,
                              names: Sequence[Sequence[str]]) -> int:
        """`_exec`, then `_lock_keys` of each group of `names` in turn; the rows changed.
        PostgreSQL does it in one round trip, and its later `_lock_keys` of a name it
        holds already cost none."""
        changed = await self._exec(sql, params)
        for group in names:
            await self._lock_keys(*group)
        return changed

    async def _try_lock_conversation(self, conversation_id: int) -> bool:
        """Lock the row unless another unit holds it (claims skip, never wait or deadlock)."""
        return True
