"""SQL for the agent console's sign-in (issue 7): argon2 password hashes, never passwords."""

from __future__ import annotations

from router.model import Agent
from router.store import sql_rows as rows
from router.store.sql_base import SqlBase


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
