"""`StoreCsatRecorder`: survey answers kept on the conversation and as events."""

from __future__ import annotations

from datetime import datetime

from router.domain.model import Event
from router.ports.csat_recorder import UNKNOWN, CsatRecorder, Decide
from router.store.base import Store, Tx


class StoreCsatRecorder(CsatRecorder):
    def __init__(self, store: Store) -> None:
        self.store = store

    async def answer(self, conversation_id: int, key: str, decide: Decide,
                     now: datetime) -> str:
        async def unit(tx: Tx) -> str:
            # a write unit reads the conversation locked (PostgreSQL), so a second answer
            # at the same moment decides on the first one's record
            conv = await tx.get_conversation(conversation_id)
            if conv is None:
                return UNKNOWN
            outcome = decide(dict(conv.metadata.get(key) or {}))
            if isinstance(outcome, str):
                return outcome
            conv.metadata[key] = outcome.record
            await tx.insert_event(Event(0, outcome.kind, now, conversation_id, "customer",
                                        outcome.data))
            await tx.save_conversation(conv, now)
            return ""

        return await self.store.write(unit)
