"""SQL for attachments and agents' own settings (issue 24)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from router.domain.model import Message
from router.store import sql_rows as rows
from router.store.base import ts
from router.store.sql_base import SqlBase
from router.store.sql_rows import dumps, loads


class SqlCollab(SqlBase):
    async def get_message(self, message_id: int) -> Message | None:
        r = await self._one(f"SELECT {rows.MSG_COLS} FROM messages WHERE id = ?", (message_id,))
        return rows.message(r) if r else None

    async def agent_settings(self, agent_id: int) -> dict[str, Any]:
        r = await self._one("SELECT settings FROM agent_settings WHERE agent_id = ?", (agent_id,))
        found = loads(r[0]) if r else None
        return found if isinstance(found, dict) else {}

    async def put_agent_settings(self, agent_id: int, settings: dict[str, Any],
                                 now: datetime) -> None:
        await self._exec(
            "INSERT INTO agent_settings (agent_id, settings, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (agent_id) DO UPDATE SET settings = excluded.settings, "
            "updated_at = excluded.updated_at", (agent_id, dumps(settings), ts(now)))
