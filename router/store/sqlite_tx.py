"""The SQLite backend's statement primitives for the shared SQL of `SqlTx`.

Statements run synchronously inside the async methods, on the event loop: each is
microseconds of in-memory work in WAL mode, and a thread hop per statement would cost
more than the statement (see router/store/sqlite.py).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from router.store.sql_base import Params
from router.store.sql_tx import SqlTx


class SqliteTx(SqlTx):
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.c = conn

    async def purge_search_index(self) -> None:
        """FTS5 keeps a deleted row's words in its index segments until they are merged:
        after an erasure, merge them all, so the words are gone from the file (GDPR).
        Erasures are rare, and this costs one pass over the index."""
        for table in ("messages_fts", "contacts_fts"):
            self.c.execute(f"INSERT INTO {table}({table}) VALUES ('optimize')")

    async def _one(self, sql: str, params: Params = ()) -> Sequence[Any] | None:
        row: Sequence[Any] | None = self.c.execute(sql, params).fetchone()
        return row

    async def _all(self, sql: str, params: Params = ()) -> list[Sequence[Any]]:
        return self.c.execute(sql, params).fetchall()

    async def _exec(self, sql: str, params: Params = ()) -> int:
        return self.c.execute(sql, params).rowcount

    async def _insert(self, sql: str, params: Params = ()) -> int:
        return int(self.c.execute(sql, params).lastrowid or 0)

    async def _many(self, sql: str, seq: Iterable[Params]) -> None:
        self.c.executemany(sql, seq)
