"""SQL for CRM sync (issue 27): the followers' cursors and contacts' CRM records."""

from __future__ import annotations

from datetime import datetime

from router.store.base import ts
from router.store.sql_base import SqlBase


class SqlCrm(SqlBase):
    async def crm_cursor(self, crm: str, start: int) -> int:
        # Created at `start` the first time; locked until commit on PostgreSQL, so a
        # second instance's follower waits here and then reads the cursor moved on.
        await self._exec("INSERT INTO crm_cursors (crm, event_id) VALUES (?, ?) "
                         "ON CONFLICT (crm) DO NOTHING", (crm, start))
        r = await self._one(f"SELECT event_id FROM crm_cursors WHERE crm = ?{self.for_update}",
                            (crm,))
        return int(r[0]) if r else start

    async def set_crm_cursor(self, crm: str, event_id: int) -> None:
        await self._exec("UPDATE crm_cursors SET event_id = ? WHERE crm = ?", (event_id, crm))

    async def crm_contact(self, crm: str, contact_id: int, *, email: str = "",
                          phone: str = "") -> str | None:
        where, params = ["l.contact_id = ?"], [crm, contact_id]
        if email:
            where.append("LOWER(c.email) = LOWER(?)")
            params.append(email)
        if phone:
            where.append("c.phone = ?")
            params.append(phone)
        # this contact's own record first, then one of a contact with its email or phone
        r = await self._one(
            "SELECT l.remote_id FROM crm_contacts l JOIN contacts c ON c.id = l.contact_id "
            f"WHERE l.crm = ? AND ({' OR '.join(where)}) "
            "ORDER BY CASE WHEN l.contact_id = ? THEN 0 ELSE 1 END, l.created_at DESC LIMIT 1",
            (*params, contact_id))
        return str(r[0]) if r else None

    async def set_crm_contact(self, crm: str, contact_id: int, remote_id: str,
                              now: datetime) -> None:
        await self._exec(
            "INSERT INTO crm_contacts (crm, contact_id, remote_id, created_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (crm, contact_id) DO UPDATE SET remote_id = excluded.remote_id, "
            "created_at = excluded.created_at", (crm, contact_id, remote_id, ts(now)))

    async def forget_crm_contact(self, crm: str, remote_id: str) -> int:
        return await self._exec("DELETE FROM crm_contacts WHERE crm = ? AND remote_id = ?",
                                (crm, remote_id))
