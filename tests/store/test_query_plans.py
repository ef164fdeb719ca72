"""Statements run for every message must read through an index, not a customer's history."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from router.domain.model import AuthorKind, Contact, Conversation, Direction, Message
from router.store.base import Tx, ts, utcnow
from router.store.postgres import PostgresStore
from router.store.sql_conversations import BOT_REPLY_TIMES, PG_BOT_REPLY_TIMES
from router.store.sqlite import SqliteStore
from router.store.sqlite_tx import SqliteTx
from tests.store.pg import fresh_schema, store_url


async def test_bot_reply_times_reads_only_bot_replies(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "router.db")
    await store.open()
    await store.close()
    with sqlite3.connect(tmp_path / "router.db") as conn:
        plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {BOT_REPLY_TIMES}",
                                                (1, "2026-01-01T00:00:00.000000Z", 501))]
    assert any("COVERING INDEX messages_bot_replies" in step for step in plan), plan
    assert not any("TEMP B-TREE" in step for step in plan), plan  # no sorter: see the SQL


async def test_bot_reply_times_on_postgresql_start_from_the_contact_with_stale_statistics(
        ) -> None:
    """Before autovacuum has analysed a fresh or fast-growing database, the join let
    PostgreSQL start from every bot reply of the day (1,500 rows fetched per message
    after 1,800 messages, issue 28). The statement must look up the contact's
    conversations and read each one's bot replies through the index."""
    now = utcnow()

    async def unit(tx: Tx) -> int:
        first = 0
        for i in range(300):
            contact = await tx.create_contact(Contact(0, f"c{i}"), now)
            conversation = await tx.create_conversation(Conversation(
                0, contact, "loopback", f"t{i}", created_at=now, updated_at=now))
            await tx.insert_message(Message(0, conversation, Direction.OUTBOUND,
                                            AuthorKind.BOT, "hi", now))
            first = first or contact
        return first

    async with fresh_schema() as (url, schema):
        store = PostgresStore(store_url(url, schema))
        await store.open()
        try:
            contact = await store.write(unit)

            async def explain(tx: Tx) -> str:
                rows = await tx._all(  # type: ignore[attr-defined]
                    "EXPLAIN " + PG_BOT_REPLY_TIMES, (contact, ts(now), 501))
                return "\n".join(str(row[0]) for row in rows)

            plan = await store.read(explain)
            found = await store.read(lambda tx: tx.bot_reply_times(contact, now))
        finally:
            await store.close()
    assert "Index Cond: ((conversation_id = c.id)" in plan, plan
    assert "Index Cond: (created_at >=" not in plan, plan
    assert found == [now]


async def test_live_feeds_read_only_the_events_after_their_cursor(tmp_path: Path) -> None:
    """The console's signals and the Slack mirror poll for events of some kinds after a
    cursor: the read must be the rowid range after the cursor, not every event of those
    kinds in the history (which an index on kind made SQLite choose)."""
    store = SqliteStore(tmp_path / "router.db")
    await store.open()
    captured: list[tuple[str, tuple[object, ...]]] = []

    async def feed(tx: SqliteTx) -> None:
        real = tx.c
        tx.c = _Recorder(real, captured)  # type: ignore[assignment]
        await tx.list_events(after_id=10, kinds=("assigned", "resolved"), limit=500)
        tx.c = real

    await store.read(feed)  # type: ignore[arg-type]
    await store.close()
    (sql, params), = captured
    with sqlite3.connect(tmp_path / "router.db") as conn:
        plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
    assert plan == ["SEARCH events USING INTEGER PRIMARY KEY (rowid>?)"], plan


class _Recorder:
    """Stands in for the connection: records each statement, then runs it."""

    def __init__(self, conn: sqlite3.Connection, into: list[tuple[str, tuple[object, ...]]]) -> None:
        self.conn, self.into = conn, into

    def execute(self, sql: str, params: tuple[object, ...] = ()) -> sqlite3.Cursor:
        self.into.append((sql, tuple(params)))
        return self.conn.execute(sql, params)
