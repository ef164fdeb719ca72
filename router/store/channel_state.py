"""`StoreChannelState`: `ChannelState` kept in the store's `channel_state` table.

Each call is its own unit of work, committed before it returns; a claim is atomic on both
backends (see `router.store.sql_channel_state`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from router.ports.channel_state import ChannelState
from router.store.base import Store, utcnow


class StoreChannelState(ChannelState):
    def __init__(self, store: Store, channel: str, *,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.channel = channel
        self._clock = clock  # tests move it on instead of sleeping

    async def get(self, key: str, default: Any = None) -> Any:
        raw = await self.store.read(lambda tx: tx.channel_state_get(self.channel, key))
        return default if raw is None else json.loads(raw)

    async def put(self, key: str, value: Any, *, conversation_id: int | None = None,
                  contact_id: int | None = None) -> None:
        text, now = json.dumps(value, separators=(",", ":")), self._clock()
        await self.store.write(lambda tx: tx.channel_state_put(
            self.channel, key, text, conversation_id, contact_id, now))

    async def delete(self, key: str) -> bool:
        return await self.store.write(lambda tx: tx.channel_state_delete(self.channel, key)) > 0

    async def scan(self, prefix: str) -> dict[str, Any]:
        found = await self.store.read(lambda tx: tx.channel_state_scan(self.channel, prefix))
        return {key: json.loads(value) for key, value in found}

    async def claim(self, key: str, owner: str, ttl: timedelta | float) -> bool:
        if not owner:
            raise ValueError("a claim needs a non-empty owner")
        now = self._clock()
        until = now + (ttl if isinstance(ttl, timedelta) else timedelta(seconds=ttl))
        return await self.store.write(
            lambda tx: tx.channel_state_claim(self.channel, key, owner, now, until))

    async def release(self, key: str, owner: str) -> bool:
        return await self.store.write(
            lambda tx: tx.channel_state_release(self.channel, key, owner)) > 0
