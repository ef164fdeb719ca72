"""A `ChannelState` for a channel run outside a service (its tests, a tool).

Inside a service every channel gets `ChannelContext.host_for(name).state`, kept in the
service's store. A channel built on its own keeps its state in a SQLite store of its own
at `path` instead: the same table and SQL, opened on first use, closed by `close()`.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from router.ports.channel_state import ChannelState
from router.store.channel_state import StoreChannelState
from router.store.sqlite import SqliteStore


class LocalChannelState(ChannelState):
    def __init__(self, path: Path, channel: str) -> None:
        self.path = path
        self.channel = channel
        self._store: SqliteStore | None = None
        self._state: StoreChannelState | None = None
        self._lock = asyncio.Lock()

    async def _open(self) -> StoreChannelState:
        async with self._lock:
            if self._state is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                store = SqliteStore(self.path)
                await store.open()
                self._store, self._state = store, StoreChannelState(store, self.channel)
            return self._state

    async def close(self) -> None:
        async with self._lock:
            if self._store is not None:
                await self._store.close()
            self._store = self._state = None

    async def get(self, key: str, default: Any = None) -> Any:
        return await (await self._open()).get(key, default)

    async def put(self, key: str, value: Any, *, conversation_id: int | None = None,
                  contact_id: int | None = None) -> None:
        await (await self._open()).put(key, value, conversation_id=conversation_id,
                                       contact_id=contact_id)

    async def delete(self, key: str) -> bool:
        return await (await self._open()).delete(key)

    async def scan(self, prefix: str) -> dict[str, Any]:
        return await (await self._open()).scan(prefix)

    async def claim(self, key: str, owner: str, ttl: timedelta | float) -> bool:
        return await (await self._open()).claim(key, owner, ttl)

    async def release(self, key: str, owner: str) -> bool:
        return await (await self._open()).release(key, owner)
