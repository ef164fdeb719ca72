"""SQL for macros and the contact upkeep behind editing and identifying (issue 24)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from router.store.base import Macro, parse_ts, ts
from router.store.sql_base import SqlBase
from router.store.sql_privacy import same_email_or_phone
from router.store.sql_rows import dumps, loads

_COLS = "id, name, owner, texts, actions, created_by, created_at, updated_at"


def _macro(r: Sequence[Any]) -> Macro:
    return Macro(int(r[0]), r[1], r[2], loads(r[3]) or {}, loads(r[4]) or {}, r[5],
                 parse_ts(r[6]), parse_ts(r[7]))


class SqlMacros(SqlBase):
    async def macro_add(self, macro: Macro, now: datetime) -> int:
        m = macro
        return await self._insert(
            "INSERT INTO macros (name, owner, texts, actions, created_by, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (m.name, m.owner, dumps(m.texts), dumps(m.actions), m.created_by, ts(now), ts(now)))

    async def macro_get(self, macro_id: int) -> Macro | None:
        r = await self._one(f"SELECT {_COLS} FROM macros WHERE id = ?{self.for_update}",
                            (macro_id,))
        return _macro(r) if r else None

    async def macro_find(self, owner: str, name: str) -> Macro | None:
        r = await self._one(f"SELECT {_COLS} FROM macros WHERE owner = ? AND name = ?",
                            (owner, name))
        return _macro(r) if r else None

    async def macro_list(self, agent: str) -> list[Macro]:
        found = await self._all(f"SELECT {_COLS} FROM macros WHERE owner = '' OR owner = ? "
                                "ORDER BY LOWER(name), owner, id", (agent,))
        return [_macro(r) for r in found]

    async def macro_save(self, macro: Macro, now: datetime) -> bool:
        m = macro
        return await self._exec(
            "UPDATE macros SET name = ?, owner = ?, texts = ?, actions = ?, updated_at = ? "
            "WHERE id = ?", (m.name, m.owner, dumps(m.texts), dumps(m.actions), ts(now),
                             m.id)) == 1

    async def macro_delete(self, macro_id: int) -> bool:
        return await self._exec("DELETE FROM macros WHERE id = ?", (macro_id,)) == 1

    async def contact_merged_into(self, contact_id: int) -> int | None:
        r = await self._one("SELECT merged_into FROM contacts WHERE id = ?", (contact_id,))
        return int(r[0]) if r and r[0] is not None else None

    async def similar_contacts(self, *, email: str = "", phone: str = "",
                               limit: int = 20) -> list[int]:
        where, params = same_email_or_phone(email, phone)
        if not where:
            return []
        found = await self._all(f"SELECT id FROM contacts WHERE merged_into IS NULL AND "
                                f"({where}) ORDER BY id LIMIT ?", (*params, limit))
        return [int(r[0]) for r in found]

    async def move_identity(self, identity_id: int, contact_id: int) -> None:
        await self._exec("UPDATE identities SET contact_id = ? WHERE id = ?",
                         (contact_id, identity_id))
