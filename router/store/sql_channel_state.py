"""SQL for channels' own state (issue 25): JSON values and leases under (channel, key).

The port channels see is `router.ports.channel_state.ChannelState`; this is its storage. A
claim is one upsert whose update applies only while the lease is the claimant's or has
run out, so two instances racing for it get one winner from the database itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from router.store.base import ts
from router.store.sql_base import SqlBase
from router.store.sql_rows import marks


def _marks(n: int) -> str:
    return ", ".join("?" * n)


class SqlChannelState(SqlBase):
    async def channel_state_get(self, channel: str, key: str) -> str | None:
        r = await self._one("SELECT value FROM channel_state WHERE channel = ? AND key = ?",
                            (channel, key))
        return None if r is None or r[0] is None else str(r[0])

    async def channel_state_present(self, pairs: Sequence[tuple[str, str]]
                                    ) -> set[tuple[str, str]]:
        wanted = set(pairs)
        keys = sorted({key for _, key in wanted})
        found: set[tuple[str, str]] = set()
        for start in range(0, len(keys), 500):  # bounded statements for any batch size
            chunk = keys[start:start + 500]
            rows = await self._all(
                f"SELECT channel, key FROM channel_state WHERE key IN ({marks(len(chunk))}) "
                "AND value IS NOT NULL AND value <> ''", chunk)
            found.update(pair for r in rows if (pair := (str(r[0]), str(r[1]))) in wanted)
        return found

    async def channel_state_put(self, channel: str, key: str, value: str,
                                conversation_id: int | None, contact_id: int | None,
                                now: datetime) -> None:
        await self._exec(
            "INSERT INTO channel_state (channel, key, value, conversation_id, contact_id, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (channel, key) DO UPDATE SET "
            "value = excluded.value, conversation_id = excluded.conversation_id, "
            "contact_id = excluded.contact_id, updated_at = excluded.updated_at",
            (channel, key, value, conversation_id, contact_id, ts(now)))

    async def channel_state_delete(self, channel: str, key: str) -> int:
        return await self._exec("DELETE FROM channel_state WHERE channel = ? AND key = ?",
                                (channel, key))

    async def channel_state_scan(self, channel: str, prefix: str) -> list[tuple[str, str]]:
        found = await self._all(
            "SELECT key, value FROM channel_state WHERE channel = ? AND value IS NOT NULL "
            "AND substr(key, 1, ?) = ? ORDER BY key", (channel, len(prefix), prefix))
        return [(str(k), str(v)) for k, v in found]

    async def channel_state_claim(self, channel: str, key: str, owner: str, now: datetime,
                                  until: datetime) -> bool:
        # one statement: a new key is inserted held; an existing one changes hands only
        # when it is already this owner's, was never leased, or its lease ran out
        changed = await self._exec(
            "INSERT INTO channel_state (channel, key, owner, lease_until, updated_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (channel, key) DO UPDATE SET "
            "owner = excluded.owner, lease_until = excluded.lease_until, "
            "updated_at = excluded.updated_at WHERE channel_state.owner = excluded.owner "
            "OR channel_state.lease_until IS NULL OR channel_state.lease_until <= ?",
            (channel, key, owner, ts(until), ts(now), ts(now)))
        return changed > 0

    async def channel_state_release(self, channel: str, key: str, owner: str) -> int:
        return await self._exec(
            "UPDATE channel_state SET owner = '', lease_until = NULL "
            "WHERE channel = ? AND key = ? AND owner = ?", (channel, key, owner))

    async def channel_state_erase(self, contact_ids: Sequence[int],
                                  conversation_ids: Sequence[int]) -> int:
        """Every channel's rows about these contacts or their conversations."""
        removed = 0
        if contact_ids:
            removed += await self._exec(
                f"DELETE FROM channel_state WHERE contact_id IN ({_marks(len(contact_ids))})",
                tuple(contact_ids))
        if conversation_ids:
            removed += await self._exec(
                "DELETE FROM channel_state WHERE conversation_id IN "
                f"({_marks(len(conversation_ids))})", tuple(conversation_ids))
        return removed
