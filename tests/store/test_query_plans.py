"""Statements run for every message must read through an index, not a customer's history."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from router.store.sql_conversations import BOT_REPLY_TIMES
from router.store.sqlite import SqliteStore


async def test_bot_reply_times_reads_only_bot_replies(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "router.db")
    await store.open()
    await store.close()
    with sqlite3.connect(tmp_path / "router.db") as conn:
        plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {BOT_REPLY_TIMES}",
                                                (1, "2026-01-01T00:00:00.000000Z", 50))]
    assert any("COVERING INDEX messages_bot_replies" in step for step in plan), plan
