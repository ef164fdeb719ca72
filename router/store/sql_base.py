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

    async def _lock_keys(self, *keys: str) -> None:
        """Serialise find-or-create on these names until commit (single writer: no-op)."""

    async def _try_lock_conversation(self, conversation_id: int) -> bool:
        """Lock the row unless another unit holds it (claims skip, never wait or deadlock)."""
        return True
