"""SQL for reports (issue 13): conversations of a period and their events, in batches.

Reports read only conversations and events, never contacts or message text, so the
figures survive a contact's erasure (router/engine/privacy/erase.py anonymises those rows but
keeps them, with their timestamps, kinds and non-personal fields).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from router.domain.model import Conversation, Event
from router.store import sql_rows as rows
from router.store.base import ts
from router.store.sql_base import SqlBase
from router.store.sql_rows import marks


class SqlReports(SqlBase):
    async def report_conversations(self, start: datetime, end: datetime, *, after_id: int = 0,
                                   limit: int = 500) -> list[Conversation]:
        return [rows.conversation(r) for r in await self._all(
            f"SELECT {rows.CONV_COLS} FROM conversations WHERE created_at >= ? AND created_at < ? "
            "AND id > ? ORDER BY id LIMIT ?", (ts(start), ts(end), after_id, limit))]

    async def count_conversations(self, start: datetime, end: datetime) -> int:
        r = await self._one("SELECT COUNT(*) FROM conversations WHERE created_at >= ? "
                            "AND created_at < ?", (ts(start), ts(end)))
        return int(r[0]) if r else 0

    async def events_for_conversations(self, ids: Sequence[int]) -> list[Event]:
        if not ids:
            return []
        found = await self._all(
            f"SELECT {rows.EVENT_COLS} FROM events "
            f"WHERE conversation_id IN ({marks(len(ids))}) ORDER BY id", tuple(ids))
        return [rows.event(r) for r in found]
