"""SQL for agents, API tokens, claims, snoozes and SLA clocks (issue 6).

Every state change is a conditional UPDATE, so the logic in router/engine/agents holds with
concurrent writers (PostgreSQL) as it does with SQLite's single writer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from router.domain.model import Agent, ApiToken, Conversation
from router.store import sql_rows as rows
from router.store.base import NO_DUE, PRIORITY_SQL, ConversationFilter, QueueCount, parse_ts, ts
from router.store.sql_base import SqlBase
from router.store.sql_rows import dumps, marks

_ACTIVE = "status IN ('queued', 'assigned')"


class SqlAgents(SqlBase):
    async def upsert_agent(self, agent: Agent, now: datetime) -> int:
        a = agent
        await self._exec(
            "INSERT INTO agents (name, display_name, email, role, languages, capacity, disabled, "
            "source, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
            "display_name = excluded.display_name, email = excluded.email, role = excluded.role, "
            "languages = excluded.languages, capacity = excluded.capacity, source = excluded.source",
            (a.name, a.display_name, a.email, str(a.role), dumps(a.languages), a.capacity,
             int(a.disabled), a.source, ts(now)))
        r = await self._one("SELECT id FROM agents WHERE name = ?", (a.name,))
        return int(r[0]) if r else 0

    async def get_agent(self, name: str, *, for_update: bool = False) -> Agent | None:
        lock = self.for_update if for_update else ""
        r = await self._one(f"SELECT {rows.AGENT_COLS} FROM agents WHERE name = ?{lock}", (name,))
        return rows.agent(r) if r else None

    async def list_agents(self, *, include_disabled: bool = True) -> list[Agent]:
        sql = f"SELECT {rows.AGENT_COLS} FROM agents"
        if not include_disabled:
            sql += " WHERE disabled = 0"
        return [rows.agent(r) for r in await self._all(sql + " ORDER BY name")]

    async def set_agent_online(self, name: str, online: bool, now: datetime) -> bool:
        return await self._exec(
            "UPDATE agents SET online = ?, online_changed_at = ? WHERE name = ? AND online != ?",
            (int(online), ts(now), name, int(online))) == 1

    async def set_agent_disabled(self, name: str, disabled: bool) -> bool:
        return await self._exec("UPDATE agents SET disabled = ? WHERE name = ?",
                                (int(disabled), name)) == 1

    async def touch_agent_assigned(self, name: str, now: datetime) -> None:
        await self._exec("UPDATE agents SET last_assigned_at = ? WHERE name = ?", (ts(now), name))

    async def agent_loads(self) -> dict[str, int]:
        return {r[0]: int(r[1]) for r in await self._all(
            "SELECT assignee, COUNT(*) FROM conversations WHERE status = 'assigned' "
            "AND assignee != '' GROUP BY assignee")}

    async def add_token(self, token: ApiToken) -> int:
        return await self._insert(
            "INSERT INTO api_tokens (agent_id, token_hash, label, created_at) VALUES (?, ?, ?, ?)",
            (token.agent_id, token.token_hash, token.label, ts(token.created_at)))

    async def find_token(self, token_hash: str) -> tuple[ApiToken, Agent] | None:
        cols = ", ".join("a." + c.strip() for c in rows.AGENT_COLS.split(","))
        r = await self._one(
            f"SELECT t.id, t.agent_id, t.token_hash, t.label, t.created_at, {cols} "
            "FROM api_tokens t JOIN agents a ON a.id = t.agent_id "
            "WHERE t.token_hash = ? AND t.revoked_at IS NULL", (token_hash,))
        if not r:
            return None
        return ApiToken(r[0], r[1], r[2], r[3], parse_ts(r[4])), rows.agent(r[5:])

    async def revoke_tokens(self, agent_id: int, now: datetime, token_id: int | None = None) -> int:
        sql = "UPDATE api_tokens SET revoked_at = ? WHERE agent_id = ? AND revoked_at IS NULL"
        params: list[Any] = [ts(now), agent_id]
        if token_id is not None:
            sql += " AND id = ?"
            params.append(token_id)
        return await self._exec(sql, params)

    async def claim_conversation(self, conversation_id: int, agent: str, now: datetime, *,
                                 from_status: str = "queued") -> bool:
        if not await self._try_lock_conversation(conversation_id):
            return False
        return await self._exec(
            "UPDATE conversations SET status = 'assigned', assignee = ?, assigned_at = ?, "
            "updated_at = ? WHERE id = ? AND status = ?",
            (agent, ts(now), ts(now), conversation_id, str(from_status))) == 1

    async def list_conversations(self, flt: ConversationFilter, limit: int) -> list[Conversation]:
        where, params = rows.conversation_where(flt)
        if flt.order == "urgency":
            key = (f"{PRIORITY_SQL}, COALESCE(CASE WHEN first_response_at IS NULL THEN "
                   f"first_response_due ELSE resolution_due END, '{NO_DUE}'), "
                   "COALESCE(queued_at, created_at), id")
            if flt.after is not None:
                where.append(f"({key}) > (?, ?, ?, ?)")
                params.extend(flt.after)
            order = key
        else:
            if flt.after is not None:
                where.append("id < ?")
                params.append(flt.after[0])
            order = "id DESC"
        sql = f"SELECT {rows.CONV_COLS} FROM conversations"
        if where:
            sql += " WHERE " + " AND ".join(where)
        found = await self._all(f"{sql} ORDER BY {order} LIMIT ?", (*params, limit))
        return [rows.conversation(r) for r in found]

    async def get_conversations(self, ids: Sequence[int]) -> list[Conversation]:
        if not ids:
            return []
        found = await self._all(
            f"SELECT {rows.CONV_COLS} FROM conversations WHERE id IN ({marks(len(ids))})",
            tuple(ids))
        return [rows.conversation(r) for r in found]

    async def queue_counts(self) -> list[QueueCount]:
        waiting = "status = 'queued' AND snoozed_until IS NULL"
        found = await self._all(
            f"SELECT queue, SUM(CASE WHEN {waiting} THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN status = 'assigned' THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN snoozed_until IS NOT NULL THEN 1 ELSE 0 END), "
            f"MIN(CASE WHEN {waiting} THEN queued_at END) FROM conversations "
            f"WHERE {_ACTIVE} GROUP BY queue ORDER BY queue")
        return [QueueCount(r[0], int(r[1]), int(r[2]), int(r[3]), parse_ts(r[4])) for r in found]

    async def due_snoozes(self, now: datetime, limit: int = 100) -> list[int]:
        return [r[0] for r in await self._all(
            "SELECT id FROM conversations WHERE snoozed_until IS NOT NULL AND snoozed_until <= ? "
            "ORDER BY snoozed_until LIMIT ?", (ts(now), limit))]

    async def end_snooze(self, conversation_id: int, now: datetime) -> bool:
        return await self._exec(
            "UPDATE conversations SET snoozed_until = NULL, updated_at = ? WHERE id = ? "
            "AND snoozed_until IS NOT NULL AND snoozed_until <= ?",
            (ts(now), conversation_id, ts(now))) == 1

    async def sla_breach_candidates(self, now: datetime, limit: int = 100) -> list[tuple[int, str]]:
        found = await self._all(
            f"SELECT id, 'first_response' FROM conversations WHERE {_ACTIVE} "
            "AND first_response_at IS NULL AND first_response_due <= ? "
            "AND sla_first_breached_at IS NULL "
            f"UNION ALL SELECT id, 'resolution' FROM conversations WHERE {_ACTIVE} "
            "AND resolution_due <= ? AND sla_resolution_breached_at IS NULL "
            "AND sla_paused_at IS NULL LIMIT ?", (ts(now), ts(now), limit))
        return [(r[0], r[1]) for r in found]

    async def mark_sla_breach(self, conversation_id: int, kind: str, now: datetime) -> bool:
        column = {"first_response": "sla_first_breached_at",
                  "resolution": "sla_resolution_breached_at"}[kind]
        return await self._exec(
            f"UPDATE conversations SET {column} = ? WHERE id = ? AND {column} IS NULL",
            (ts(now), conversation_id)) == 1

    async def idle_candidates(self, before: datetime, below_level: float,
                              limit: int = 100) -> list[tuple[int, datetime]]:
        found = await self._all(
            "SELECT id, last_customer_at FROM conversations "
            "WHERE status IN ('bot', 'queued', 'assigned') AND last_customer_at IS NOT NULL "
            "AND last_customer_at <= ? "
            "AND (idle_since IS NULL OR idle_since <> last_customer_at OR idle_level < ?) "
            "ORDER BY last_customer_at LIMIT ?", (ts(before), below_level, limit))
        return [(r[0], parse_ts(r[1])) for r in found]  # type: ignore[misc]

    async def mark_idle(self, conversation_id: int, level: float) -> bool:
        # conditional: of several instances ticking at once, one fires each level
        return await self._exec(
            "UPDATE conversations SET idle_since = last_customer_at, idle_level = ? "
            "WHERE id = ? AND (idle_since IS NULL OR idle_since <> last_customer_at "
            "OR idle_level < ?)", (level, conversation_id, level)) == 1

    async def abandoned_assignments(self, offline_before: datetime, limit: int = 100) -> list[int]:
        return [r[0] for r in await self._all(
            "SELECT c.id FROM conversations c JOIN agents a ON a.name = c.assignee "
            "WHERE c.status = 'assigned' AND (a.online = 0 OR a.disabled = 1) "
            "AND COALESCE(a.online_changed_at, a.created_at) <= ? AND c.assigned_at <= ? "
            "AND (c.last_agent_at IS NULL OR c.last_customer_at > c.last_agent_at) "
            "ORDER BY c.id LIMIT ?", (ts(offline_before), ts(offline_before), limit))]

    async def next_agent_deadline(self) -> datetime | None:
        r = await self._one(
            "SELECT MIN(x) FROM ("
            "SELECT MIN(snoozed_until) AS x FROM conversations WHERE snoozed_until IS NOT NULL "
            f"UNION ALL SELECT MIN(first_response_due) FROM conversations WHERE {_ACTIVE} "
            "AND first_response_at IS NULL AND sla_first_breached_at IS NULL "
            f"UNION ALL SELECT MIN(resolution_due) FROM conversations WHERE {_ACTIVE} "
            "AND sla_resolution_breached_at IS NULL AND sla_paused_at IS NULL) d")
        return parse_ts(r[0]) if r else None
