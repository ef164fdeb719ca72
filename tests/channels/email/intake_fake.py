"""A stand-in for the pipeline's intake: a real SQLite inbox with (channel, external_id) unique.

Used by the phase-1 IMAP/SMTP tests and by the kill -9 subprocess; it commits before it
returns, exactly like the pipeline contract says.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path

from router.domain.model import InboundMessage, UnparsedInbound
from router.ports.channel import ChannelInbox, IngestResult


class MessageInbox(ChannelInbox):
    """The inbox of a channel that hands messages (email): each goes to `ingest`."""

    def __init__(self, ingest: Callable[[InboundMessage], Awaitable[IngestResult]]) -> None:
        self.ingest = ingest

    async def receive(self, raw: UnparsedInbound) -> IngestResult:
        raise NotImplementedError("email hands over messages")

    async def receive_message(self, message: InboundMessage) -> IngestResult:
        return await self.ingest(message)


class SqliteIntake(MessageInbox):
    def __init__(self, path: Path, *, fail_times: int = 0) -> None:
        super().__init__(self)
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS inbox (id INTEGER PRIMARY KEY, channel TEXT, external_id TEXT,"
            " thread_key TEXT, text TEXT, automatic INTEGER, meta TEXT, UNIQUE (channel, external_id))"
        )
        self.fail_times = fail_times
        self.calls = 0
        self.changed = asyncio.Event()
        self.messages: list[InboundMessage] = []

    async def __call__(self, msg: InboundMessage) -> IngestResult:
        self.calls += 1
        if self.fail_times > 0:
            self.fail_times -= 1
            raise RuntimeError("store unavailable")
        cur = self.db.execute(
            "INSERT OR IGNORE INTO inbox (channel, external_id, thread_key, text, automatic, meta)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                msg.channel,
                msg.external_id,
                msg.thread_key,
                msg.text,
                int(msg.is_automatic),
                json.dumps(dict(msg.metadata), default=str),
            ),
        )
        duplicate = cur.rowcount == 0
        if not duplicate:
            self.messages.append(msg)
        self.changed.set()
        return IngestResult(duplicate=duplicate, message_id=cur.lastrowid, conversation_id=None)

    def count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM inbox").fetchone()[0])

    def ids(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT external_id FROM inbox ORDER BY id")]

    async def wait_count(self, n: int, timeout: float = 10.0) -> None:
        async def _until() -> None:
            while self.count() < n:
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(_until(), timeout)
