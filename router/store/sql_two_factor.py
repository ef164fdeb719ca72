"""SQL for two-factor sign-in (issue 29): TOTP enrolments and recovery codes.

Every use of a code is a conditional UPDATE (a newer time step, an unused recovery code),
so a code is accepted once however many instances see it at the same moment.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from router.store.base import TwoFactor, parse_ts, ts
from router.store.sql_base import SqlBase


class SqlTwoFactor(SqlBase):
    async def get_two_factor(self, agent_id: int, *, for_update: bool = False) -> TwoFactor | None:
        lock = self.for_update if for_update else ""
        r = await self._one("SELECT agent_id, secret, enabled_at, last_step FROM agent_two_factor "
                            f"WHERE agent_id = ?{lock}", (agent_id,))
        if r is None:
            return None
        left = await self._one("SELECT COUNT(*) FROM recovery_codes WHERE agent_id = ? "
                               "AND used_at IS NULL", (agent_id,))
        return TwoFactor(int(r[0]), r[1], parse_ts(r[2]), int(r[3]), int(left[0]) if left else 0)

    async def start_two_factor(self, agent_id: int, secret: str, now: datetime) -> None:
        # an enabled enrolment stays as it is (it has to be turned off first)
        await self._exec("DELETE FROM agent_two_factor WHERE agent_id = ? AND enabled_at IS NULL",
                         (agent_id,))
        await self._exec(
            "INSERT INTO agent_two_factor (agent_id, secret, enabled_at, last_step, created_at) "
            "VALUES (?, ?, NULL, 0, ?) ON CONFLICT (agent_id) DO NOTHING",
            (agent_id, secret, ts(now)))

    async def enable_two_factor(self, agent_id: int, step: int, now: datetime,
                                recovery_hashes: Sequence[str]) -> bool:
        if await self._exec(
                "UPDATE agent_two_factor SET enabled_at = ?, last_step = ? "
                "WHERE agent_id = ? AND enabled_at IS NULL", (ts(now), step, agent_id)) != 1:
            return False
        await self.replace_recovery_codes(agent_id, recovery_hashes)
        return True

    async def use_totp_step(self, agent_id: int, step: int) -> bool:
        return await self._exec(
            "UPDATE agent_two_factor SET last_step = ? WHERE agent_id = ? "
            "AND enabled_at IS NOT NULL AND last_step < ?", (step, agent_id, step)) == 1

    async def use_recovery_code(self, agent_id: int, code_hash: str, now: datetime) -> bool:
        return await self._exec(
            "UPDATE recovery_codes SET used_at = ? WHERE agent_id = ? AND code_hash = ? "
            "AND used_at IS NULL", (ts(now), agent_id, code_hash)) >= 1

    async def replace_recovery_codes(self, agent_id: int, hashes: Sequence[str]) -> None:
        await self._exec("DELETE FROM recovery_codes WHERE agent_id = ?", (agent_id,))
        await self._many("INSERT INTO recovery_codes (agent_id, code_hash) VALUES (?, ?)",
                         [(agent_id, h) for h in hashes])

    async def delete_two_factor(self, agent_id: int) -> bool:
        await self._exec("DELETE FROM recovery_codes WHERE agent_id = ?", (agent_id,))
        return await self._exec("DELETE FROM agent_two_factor WHERE agent_id = ?",
                                (agent_id,)) == 1
