"""SQL for FAQ suggestions (issue 20): what agents and customers taught the knowledge base.

Read-only and batched like the reports: conversations touched since a time, keyed by id,
then their customer and agent messages and the events that say what the bot did with
each message. Only conversations the bot spoke in or an agent answered can hold
evidence, so the rest are not read at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from router.domain.model import Conversation, Event, Message
from router.store import sql_rows as rows
from router.store.base import ts
from router.store.sql_base import SqlBase
from router.store.sql_rows import marks

#: the events that tie a customer message to the bot's decision about it, in id order
FAQ_EVENT_KINDS = ("message_received", "message_edited", "rules_applied")


class SqlFaq(SqlBase):
    async def faq_conversations(self, since: datetime, *, after_id: int = 0,
                                limit: int = 200) -> list[Conversation]:
        # The primary key range after the cursor; the other conditions filter those rows,
        # so all batches together read the table once.
        return [rows.conversation(r) for r in await self._all(
            f"SELECT {rows.CONV_COLS} FROM conversations WHERE id > ? AND updated_at >= ? "
            "AND (bot_turns > 0 OR last_agent_at IS NOT NULL) ORDER BY id LIMIT ?",
            (after_id, ts(since), limit))]

    async def faq_messages(self, conversation_ids: Sequence[int]) -> list[Message]:
        if not conversation_ids:
            return []
        return [rows.message(r) for r in await self._all(
            f"SELECT {rows.MSG_COLS} FROM messages WHERE conversation_id IN "
            f"({marks(len(conversation_ids))}) AND internal = 0 "
            "AND author_kind IN ('customer', 'agent') ORDER BY conversation_id, id",
            tuple(conversation_ids))]

    async def faq_events(self, conversation_ids: Sequence[int]) -> list[Event]:
        if not conversation_ids:
            return []
        found = await self._all(
            f"SELECT {rows.EVENT_COLS} FROM events "
            f"WHERE conversation_id IN ({marks(len(conversation_ids))}) "
            f"AND kind IN ({marks(len(FAQ_EVENT_KINDS))}) ORDER BY id",
            (*conversation_ids, *FAQ_EVENT_KINDS))
        return [rows.event(r) for r in found]
