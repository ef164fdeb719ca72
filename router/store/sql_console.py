"""SQL for the agent console's sign-in (issue 7): argon2 password hashes, never passwords,
and the shared sign-in throttling counters (issue 22)."""

from __future__ import annotations

from collections.abc import Sequence

from router.domain.model import Agent
from router.store import sql_rows as rows
from router.store.base import SigninLimit
from router.store.sql_base import SqlBase

_LIMIT_COLS = "key, failures, window_start, strikes, blocked_until, updated_at"


class SqlConsole(SqlBase):
    async def set_agent_password(self, name: str, password_hash: str | None) -> bool:
        return await self._exec("UPDATE agents SET password_hash = ? WHERE name = ?",
                                (password_hash, name)) == 1

    async def find_agent_login(self, login: str) -> tuple[Agent, str | None] | None:
        sql = f"SELECT {rows.AGENT_COLS}, password_hash FROM agents WHERE "
        found = await self._all(sql + "name = ?", (login,))
        if not found and "@" in login:
            found = await self._all(sql + "email != '' AND LOWER(email) = LOWER(?)", (login,))
        if len(found) != 1:
            return None
        return rows.agent(found[0][:-1]), found[0][-1]

    async def signin_limits(self, keys: Sequence[str]) -> list[SigninLimit]:
        if not keys:
            return []
        # PostgreSQL: the advisory locks also cover keys that have no row yet, which a
        # row lock could not; two instances counting one key queue up here.
        await self._lock_keys(*(f"signin:{k}" for k in keys))
        marks = ", ".join("?" * len(keys))
        found = await self._all(f"SELECT {_LIMIT_COLS} FROM signin_limits "
                                f"WHERE key IN ({marks})", tuple(keys))
        return [SigninLimit(str(r[0]), *(int(v) for v in r[1:])) for r in found]

    async def save_signin_limits(self, limits: Sequence[SigninLimit], *,
                                 forget_before: int) -> None:
        await self._exec("DELETE FROM signin_limits WHERE updated_at < ? AND blocked_until < ?",
                         (forget_before, forget_before))
        await self._many(
            f"INSERT INTO signin_limits ({_LIMIT_COLS}) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, "
            "window_start = excluded.window_start, strikes = excluded.strikes, "
            "blocked_until = excluded.blocked_until, updated_at = excluded.updated_at",
            [(x.key, x.failures, x.window_start, x.strikes, x.blocked_until, x.updated_at)
             for x in limits])

    async def delete_signin_limits(self, keys: Sequence[str]) -> None:
        if keys:
            marks = ", ".join("?" * len(keys))
            await self._exec(f"DELETE FROM signin_limits WHERE key IN ({marks})", tuple(keys))
