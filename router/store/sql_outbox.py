"""SQL for the outbox (leases that expire) and the metrics snapshot."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from router.domain.model import OutboxRow, OutboxStatus
from router.store import sql_rows as rows
from router.store.base import LeaseRound, parse_ts, ts
from router.store.sql_base import SqlBase
from router.store.sql_rows import dumps, loads, marks

#: message_id first: `insert_message(outbox=...)` passes the new message's id there
OUTBOX_INSERT = (
    "INSERT INTO outbox (message_id, idempotency_key, conversation_id, channel, thread_key, "
    "recipient, payload, status, attempts, next_attempt_at, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)")


#: `Tx.outbox_claim`: the unit's own reply, if it is first in its thread's line (the
#: oldest pending row: the `outbox_thread` index) and not leased; never one whose address
#: is recorded unreachable (a lease round fails those, `Dispatcher._unreachable`)
OUTBOX_CLAIM = (
    "UPDATE outbox SET lease_until = ?, attempts = attempts + 1 WHERE id = (SELECT MIN(id) "
    "FROM outbox WHERE channel = ? AND thread_key = ? AND status = 'pending') "
    "AND conversation_id = ? AND created_at = ? AND lease_until IS NULL "
    "AND NOT EXISTS (SELECT 1 FROM channel_state s WHERE s.channel = ? AND s.key = ? "
    f"AND s.value IS NOT NULL AND s.value <> '') RETURNING {rows.OUTBOX_COLS}")


def claim_params(conversation_id: int, channel: str, thread_key: str, now: datetime,
                 until: datetime, unreachable_key: str) -> tuple[Any, ...]:
    """`OUTBOX_CLAIM`'s parameters, in its order (SQLite runs it alone, PostgreSQL in the
    unit's last statement)."""
    return (ts(until), channel, thread_key, conversation_id, ts(now), channel, unreachable_key)


def outbox_values(row: OutboxRow) -> tuple[Any, ...]:
    """`OUTBOX_INSERT`'s parameters after the message id."""
    return (row.idempotency_key, row.conversation_id, row.channel, row.thread_key,
            row.recipient, dumps(row.payload), str(row.status), ts(row.next_attempt_at),
            ts(row.created_at))


class SqlOutbox(SqlBase):
    #: PostgreSQL: rows another instance is leasing right now are skipped, not waited for.
    skip_locked: str = ""

    async def outbox_add(self, row: OutboxRow) -> int:
        return await self._insert(OUTBOX_INSERT, (row.message_id, *outbox_values(row)))

    async def outbox_lease(self, now: datetime, until: datetime, limit: int) -> list[OutboxRow]:
        # A row is due when pending, its time has come, it is not leased by a live sender,
        # and no older row of the same thread is still waiting (keeps per-chat order).
        found = await self._all(
            f"SELECT {rows.OUTBOX_COLS} FROM outbox o WHERE o.status = 'pending' "
            "AND o.next_attempt_at <= ? AND (o.lease_until IS NULL OR o.lease_until < ?) "
            "AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.status = 'pending' "
            "AND p.channel = o.channel AND p.thread_key = o.thread_key AND p.id < o.id) "
            f"ORDER BY o.next_attempt_at, o.id LIMIT ?{self.skip_locked}",
            (ts(now), ts(now), limit))
        leased = [rows.outbox(r) for r in found]
        await self._many("UPDATE outbox SET lease_until = ?, attempts = attempts + 1 WHERE id = ?",
                         [(ts(until), row.id) for row in leased])
        for row in leased:
            row.attempts += 1
        return leased

    async def outbox_lease_round(self, now: datetime, until: datetime, limit: int,
                                 unreachable_prefix: str,
                                 sent: Sequence[tuple[int, str]] = ()) -> LeaseRound:
        """A statement each (SQLite: cheap, and all in the writer's batch); PostgreSQL
        overrides it with one (router/store/postgres_outbox.py)."""
        for outbox_id, external_id in sent:
            await self.outbox_sent(outbox_id, external_id, now)
        leased = await self.outbox_lease(now, until, limit)
        keyed = {row.id: (row.channel, unreachable_prefix + row.address)
                 for row in leased if row.address}
        present = await self.channel_state_present(list(keyed.values())) if keyed else set()
        due = await self.outbox_next_due() if len(leased) < limit else None
        return LeaseRound(leased, {i for i, pair in keyed.items() if pair in present}, due)

    async def outbox_claim(self, conversation_id: int, channel: str, thread_key: str,
                           now: datetime, until: datetime,
                           unreachable_key: str) -> list[OutboxRow]:
        found = await self._all(OUTBOX_CLAIM, claim_params(conversation_id, channel, thread_key,
                                                           now, until, unreachable_key))
        return [rows.outbox(r) for r in found]  # one row at most: the thread's oldest

    async def outbox_sent(self, outbox_id: int, external_id: str, now: datetime) -> None:
        await self._exec(
            "UPDATE outbox SET status = 'sent', sent_at = ?, external_id = ?, lease_until = NULL, "
            "last_error = '' WHERE id = ?", (ts(now), external_id, outbox_id))

    async def outbox_retry_later(self, outbox_id: int, when: datetime, error: str) -> None:
        await self._exec(
            "UPDATE outbox SET next_attempt_at = ?, lease_until = NULL, last_error = ? WHERE id = ?",
            (ts(when), error, outbox_id))

    async def outbox_give_up(self, outbox_id: int, status: OutboxStatus, error: str) -> None:
        await self._exec(
            "UPDATE outbox SET status = ?, lease_until = NULL, last_error = ? WHERE id = ?",
            (str(status), error, outbox_id))

    async def outbox_list(self, statuses: Sequence[OutboxStatus], limit: int = 100) -> list[OutboxRow]:
        found = await self._all(
            f"SELECT {rows.OUTBOX_COLS} FROM outbox WHERE status IN ({marks(len(statuses))}) "
            "ORDER BY id LIMIT ?", (*map(str, statuses), limit))
        return [rows.outbox(r) for r in found]

    async def outbox_requeue(self, ids: Sequence[int] | None, now: datetime) -> int:
        sql = ("UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ?, "
               "lease_until = NULL WHERE status IN ('dead', 'failed')")
        params: list[Any] = [ts(now)]
        if ids is None:
            sql += " AND status = 'dead'"
        else:
            sql += f" AND id IN ({marks(len(ids))})"
            params.extend(ids)
        return await self._exec(sql, params)

    async def outbox_next_due(self) -> datetime | None:
        r = await self._one(
            "SELECT MIN(CASE WHEN lease_until > next_attempt_at THEN lease_until "
            "ELSE next_attempt_at END) FROM outbox WHERE status = 'pending'")
        return parse_ts(r[0]) if r else None

    async def get_outbox(self, outbox_id: int) -> OutboxRow | None:
        r = await self._one(f"SELECT {rows.OUTBOX_COLS} FROM outbox WHERE id = ?", (outbox_id,))
        return rows.outbox(r) if r else None

    # outgoing webhooks (issue 27) ----------------------------------------------------
    async def webhook_subject(self, conversation_id: int) -> tuple[int, str, bool] | None:
        r = await self._one(
            "SELECT v.contact_id, v.channel, k.fields FROM conversations v "
            "JOIN contacts k ON k.id = v.contact_id WHERE v.id = ?", (conversation_id,))
        return None if r is None else (int(r[0]), str(r[1]), _erased(r[2]))

    async def contact_erased(self, contact_id: int) -> bool:
        r = await self._one("SELECT fields FROM contacts WHERE id = ?", (contact_id,))
        return r is None or _erased(r[0])

    async def outbox_forget(self, channel: str, thread_prefix: str) -> int:
        # LIKE, not a range: PostgreSQL's collations need not order ':' bytewise. Erasure is
        # rare, and the scan stays within the channel's rows (outbox_thread index).
        pattern = thread_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return await self._exec(
            "UPDATE outbox SET recipient = '', thread_key = '', payload = '{}', external_id = '', "
            "last_error = CASE WHEN status IN ('pending', 'dead') THEN 'contact erased' "
            "ELSE last_error END, status = CASE WHEN status IN ('pending', 'dead') THEN 'failed' "
            "ELSE status END WHERE channel = ? AND thread_key LIKE ? ESCAPE '\\'",
            (channel, pattern))

    async def metrics_snapshot(self) -> tuple[dict[str, tuple[int, datetime | None]], dict[str, int]]:
        waiting = {r[0]: (int(r[1]), parse_ts(r[2])) for r in await self._all(
            "SELECT queue, COUNT(*), MIN(queued_at) FROM conversations WHERE status = 'queued' "
            "GROUP BY queue")}
        outbox = {r[0]: int(r[1]) for r in await self._all(
            "SELECT status, COUNT(*) FROM outbox GROUP BY status")}
        return waiting, outbox


def _erased(fields: Any) -> bool:
    """Erasure leaves `erased_at` in the contact's fields (router/store/sql_privacy.py)."""
    found = loads(fields) if isinstance(fields, str) else fields
    return isinstance(found, dict) and "erased_at" in found
