"""SQL for the audit log (issue 29): append, list newest first, prune past retention."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from router.store.base import AuditFilter, AuditRecord, parse_ts, ts
from router.store.sql_base import SqlBase
from router.store.sql_rows import dumps, loads, marks

_COLS = "id, at, actor, action, object, source, detail"


class SqlAudit(SqlBase):
    async def audit_add(self, record: AuditRecord) -> int:
        r = record
        return await self._insert(
            "INSERT INTO audit_log (at, actor, action, object, source, detail) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (ts(r.at), r.actor, r.action, r.object, r.source, dumps(r.detail)))

    async def audit_list(self, flt: AuditFilter, limit: int) -> list[AuditRecord]:
        where: list[str] = []
        params: list[Any] = []
        if flt.actions:
            where.append(f"action IN ({marks(len(flt.actions))})")
            params.extend(flt.actions)
        if flt.actors:
            where.append(f"actor IN ({marks(len(flt.actors))})")
            params.extend(flt.actors)
        if flt.since is not None:
            where.append("at >= ?")
            params.append(ts(flt.since))
        if flt.until is not None:
            where.append("at < ?")
            params.append(ts(flt.until))
        if flt.before_id is not None:
            where.append("id < ?")
            params.append(flt.before_id)
        sql = f"SELECT {_COLS} FROM audit_log"
        if where:
            sql += " WHERE " + " AND ".join(where)
        found = await self._all(sql + " ORDER BY id DESC LIMIT ?", (*params, limit))
        return [AuditRecord(int(r[0]), parse_ts(r[1]), r[2], r[3], r[4], r[5],  # type: ignore[arg-type]
                            loads(r[6]) or {}) for r in found]

    async def audit_prune(self, before: datetime, limit: int = 1000) -> int:
        return await self._exec(
            "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < ? "
            "ORDER BY id LIMIT ?)", (ts(before), limit))
