"""The SQL of the SQLite backend: one `Tx` implementation over a sqlite3 connection."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import orjson

from router.model import (
    Agent,
    ApiToken,
    AuthorKind,
    Contact,
    Conversation,
    Direction,
    Event,
    Identity,
    Message,
    OutboxRow,
    OutboxStatus,
    Role,
    Status,
)
from router.store.base import (
    NO_DUE,
    PRIORITY_SQL,
    ConversationFilter,
    QueueCount,
    Tx,
    parse_ts,
    ts,
)


def dumps(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def loads(value: str | None) -> Any:
    return orjson.loads(value) if value else None


_CONV_COLS = ("id, contact_id, channel, thread_key, recipient, status, language, queue, priority, "
              "tags, assignee, message_count, bot_turns, metadata, created_at, updated_at, "
              "queued_at, first_response_at, resolved_at, last_customer_at, assigned_at, "
              "last_agent_at, first_response_due, resolution_due, sla_paused_at, "
              "sla_first_breached_at, sla_resolution_breached_at, snoozed_until")
_AGENT_COLS = ("id, name, display_name, email, role, languages, capacity, online, online_changed_at, "
               "disabled, last_assigned_at, source, created_at")
_MSG_COLS = ("id, conversation_id, direction, author_kind, author_id, text, language, external_id, "
             "attachments, internal, created_at, edited_at")
_OUTBOX_COLS = ("id, idempotency_key, channel, thread_key, recipient, payload, status, attempts, "
                "next_attempt_at, created_at, conversation_id, message_id, last_error, sent_at, "
                "external_id")


def _conversation(r: Sequence[Any]) -> Conversation:
    return Conversation(
        id=r[0], contact_id=r[1], channel=r[2], thread_key=r[3], recipient=r[4],
        status=Status(r[5]), language=r[6], queue=r[7], priority=r[8], tags=loads(r[9]) or [],
        assignee=r[10], message_count=r[11], bot_turns=r[12], metadata=loads(r[13]) or {},
        created_at=parse_ts(r[14]), updated_at=parse_ts(r[15]), queued_at=parse_ts(r[16]),
        first_response_at=parse_ts(r[17]), resolved_at=parse_ts(r[18]),
        last_customer_at=parse_ts(r[19]), assigned_at=parse_ts(r[20]),
        last_agent_at=parse_ts(r[21]), first_response_due=parse_ts(r[22]),
        resolution_due=parse_ts(r[23]), sla_paused_at=parse_ts(r[24]),
        sla_first_breached_at=parse_ts(r[25]), sla_resolution_breached_at=parse_ts(r[26]),
        snoozed_until=parse_ts(r[27]),
    )


def _agent(r: Sequence[Any]) -> Agent:
    return Agent(
        id=r[0], name=r[1], display_name=r[2], email=r[3], role=Role(r[4]),
        languages=loads(r[5]) or [], capacity=r[6], online=bool(r[7]),
        online_changed_at=parse_ts(r[8]), disabled=bool(r[9]), last_assigned_at=parse_ts(r[10]),
        source=r[11], created_at=parse_ts(r[12]),
    )


def _message(r: Sequence[Any]) -> Message:
    return Message(
        id=r[0], conversation_id=r[1], direction=Direction(r[2]), author_kind=AuthorKind(r[3]),
        author_id=r[4], text=r[5], language=r[6], external_id=r[7],
        attachments=loads(r[8]) or [], internal=bool(r[9]), created_at=parse_ts(r[10]),  # type: ignore[arg-type]
        edited_at=parse_ts(r[11]),
    )


def _outbox(r: Sequence[Any]) -> OutboxRow:
    return OutboxRow(
        id=r[0], idempotency_key=r[1], channel=r[2], thread_key=r[3], recipient=r[4],
        payload=loads(r[5]) or {}, status=OutboxStatus(r[6]), attempts=r[7],
        next_attempt_at=parse_ts(r[8]), created_at=parse_ts(r[9]),  # type: ignore[arg-type]
        conversation_id=r[10], message_id=r[11], last_error=r[12], sent_at=parse_ts(r[13]),
        external_id=r[14],
    )


_AGENT_CONV_SET = ("assigned_at = ?, last_agent_at = ?, first_response_due = ?, resolution_due = ?, "
                   "sla_paused_at = ?, sla_first_breached_at = ?, sla_resolution_breached_at = ?, "
                   "snoozed_until = ?")


def _agent_conv_values(cv: Conversation) -> tuple[str | None, ...]:
    return (ts(cv.assigned_at), ts(cv.last_agent_at), ts(cv.first_response_due),
            ts(cv.resolution_due), ts(cv.sla_paused_at), ts(cv.sla_first_breached_at),
            ts(cv.sla_resolution_breached_at), ts(cv.snoozed_until))


class SqliteTx(Tx):
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.c = conn

    # inbox -------------------------------------------------------------------------
    async def inbox_claim(self, channel: str, external_id: str, now: datetime) -> bool:
        cur = self.c.execute(
            "INSERT INTO inbox (channel, external_id, received_at) VALUES (?, ?, ?) "
            "ON CONFLICT DO NOTHING", (channel, external_id, ts(now)))
        return cur.rowcount == 1

    async def inbox_link(self, channel: str, external_id: str, message_id: int) -> None:
        self.c.execute("UPDATE inbox SET message_id = ? WHERE channel = ? AND external_id = ?",
                       (message_id, channel, external_id))

    # contacts ----------------------------------------------------------------------
    async def find_identity(self, channel: str, external_id: str) -> Identity | None:
        r = self.c.execute(
            "SELECT id, contact_id, channel, external_id, username, display_name FROM identities "
            "WHERE channel = ? AND external_id = ?", (channel, external_id)).fetchone()
        return Identity(*r) if r else None

    async def create_contact(self, contact: Contact, now: datetime) -> int:
        cur = self.c.execute(
            "INSERT INTO contacts (display_name, email, phone, language, tags, fields, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (contact.display_name, contact.email, contact.phone, contact.language,
             dumps(contact.tags), dumps(contact.fields), ts(now)))
        return int(cur.lastrowid or 0)

    async def create_identity(self, identity: Identity, now: datetime) -> int:
        cur = self.c.execute(
            "INSERT INTO identities (contact_id, channel, external_id, username, display_name, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (identity.contact_id, identity.channel, identity.external_id, identity.username,
             identity.display_name, ts(now)))
        return int(cur.lastrowid or 0)

    async def get_contact(self, contact_id: int) -> Contact | None:
        r = self.c.execute(
            "SELECT id, display_name, email, phone, language, tags, fields, unreachable, created_at "
            "FROM contacts WHERE id = ?", (contact_id,)).fetchone()
        if not r:
            return None
        return Contact(id=r[0], display_name=r[1], email=r[2], phone=r[3], language=r[4],
                       tags=loads(r[5]) or [], fields=loads(r[6]) or {}, unreachable=bool(r[7]),
                       created_at=parse_ts(r[8]))

    async def update_contact(self, contact: Contact) -> None:
        self.c.execute(
            "UPDATE contacts SET display_name = ?, email = ?, phone = ?, language = ?, tags = ?, "
            "fields = ?, unreachable = ? WHERE id = ?",
            (contact.display_name, contact.email, contact.phone, contact.language,
             dumps(contact.tags), dumps(contact.fields), int(contact.unreachable), contact.id))

    # conversations -----------------------------------------------------------------
    async def find_conversation(self, channel: str, keys: Sequence[str]) -> Conversation | None:
        if not keys:
            return None
        marks = ",".join("?" * len(keys))
        r = self.c.execute(
            f"SELECT {_CONV_COLS} FROM conversations WHERE id = (SELECT MAX(conversation_id) "
            f"FROM thread_keys WHERE channel = ? AND key IN ({marks}))",
            (channel, *keys)).fetchone()
        return _conversation(r) if r else None

    async def get_conversation(self, conversation_id: int) -> Conversation | None:
        r = self.c.execute(f"SELECT {_CONV_COLS} FROM conversations WHERE id = ?",
                           (conversation_id,)).fetchone()
        return _conversation(r) if r else None

    async def create_conversation(self, conversation: Conversation) -> int:
        cv = conversation
        cur = self.c.execute(
            "INSERT INTO conversations (contact_id, channel, thread_key, recipient, status, "
            "language, queue, priority, tags, assignee, message_count, bot_turns, metadata, "
            "created_at, updated_at, queued_at, first_response_at, resolved_at, last_customer_at, "
            f"{_AGENT_CONV_SET.replace(' = ?', '')}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (cv.contact_id, cv.channel, cv.thread_key, cv.recipient, str(cv.status), cv.language,
             cv.queue, cv.priority, dumps(cv.tags), cv.assignee, cv.message_count, cv.bot_turns,
             dumps(cv.metadata), ts(cv.created_at), ts(cv.updated_at or cv.created_at),
             ts(cv.queued_at), ts(cv.first_response_at), ts(cv.resolved_at),
             ts(cv.last_customer_at), *_agent_conv_values(cv)))
        return int(cur.lastrowid or 0)

    async def save_conversation(self, conversation: Conversation, now: datetime) -> None:
        cv = conversation
        cv.updated_at = now
        self.c.execute(
            "UPDATE conversations SET status = ?, language = ?, queue = ?, priority = ?, tags = ?, "
            "assignee = ?, message_count = ?, bot_turns = ?, metadata = ?, updated_at = ?, "
            "queued_at = ?, first_response_at = ?, resolved_at = ?, last_customer_at = ?, "
            f"recipient = ?, {_AGENT_CONV_SET} WHERE id = ?",
            (str(cv.status), cv.language, cv.queue, cv.priority, dumps(cv.tags), cv.assignee,
             cv.message_count, cv.bot_turns, dumps(cv.metadata), ts(now), ts(cv.queued_at),
             ts(cv.first_response_at), ts(cv.resolved_at), ts(cv.last_customer_at),
             cv.recipient, *_agent_conv_values(cv), cv.id))

    async def add_thread_keys(self, channel: str, keys: Iterable[str], conversation_id: int) -> None:
        self.c.executemany(
            "INSERT INTO thread_keys (channel, key, conversation_id) VALUES (?, ?, ?) "
            "ON CONFLICT DO NOTHING", [(channel, k, conversation_id) for k in keys if k])

    # messages and events -----------------------------------------------------------
    async def insert_message(self, message: Message, raw: dict[str, Any] | None = None) -> int:
        m = message
        cur = self.c.execute(
            "INSERT INTO messages (conversation_id, direction, author_kind, author_id, text, "
            "language, external_id, attachments, internal, raw, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (m.conversation_id, str(m.direction), str(m.author_kind), m.author_id, m.text,
             m.language, m.external_id, dumps(m.attachments), int(m.internal),
             dumps(raw) if raw is not None else None, ts(m.created_at)))
        return int(cur.lastrowid or 0)

    async def find_message(self, conversation_channel: str, external_id: str) -> Message | None:
        r = self.c.execute(
            f"SELECT {', '.join('m.' + c.strip() for c in _MSG_COLS.split(','))} FROM messages m "
            "JOIN conversations c ON c.id = m.conversation_id "
            "WHERE c.channel = ? AND m.external_id = ? ORDER BY m.id DESC LIMIT 1",
            (conversation_channel, external_id)).fetchone()
        return _message(r) if r else None

    async def edit_message(self, message_id: int, text: str, now: datetime) -> None:
        self.c.execute("UPDATE messages SET text = ?, edited_at = ? WHERE id = ?",
                       (text, ts(now), message_id))

    async def list_messages(self, conversation_id: int, limit: int = 1000) -> list[Message]:
        rows = self.c.execute(
            f"SELECT {_MSG_COLS} FROM messages WHERE conversation_id = ? ORDER BY id LIMIT ?",
            (conversation_id, limit)).fetchall()
        return [_message(r) for r in rows]

    async def insert_event(self, event: Event) -> int:
        cur = self.c.execute(
            "INSERT INTO events (conversation_id, kind, actor, data, created_at) VALUES (?, ?, ?, ?, ?)",
            (event.conversation_id, event.kind, event.actor, dumps(event.data), ts(event.created_at)))
        return int(cur.lastrowid or 0)

    async def list_events(self, conversation_id: int | None = None, *, after_id: int = 0,
                          kinds: Sequence[str] = (), limit: int = 1000) -> list[Event]:
        sql = "SELECT id, kind, created_at, conversation_id, actor, data FROM events WHERE id > ?"
        params: list[Any] = [after_id]
        if conversation_id is not None:
            sql += " AND conversation_id = ?"
            params.append(conversation_id)
        if kinds:
            sql += f" AND kind IN ({','.join('?' * len(kinds))})"
            params.extend(kinds)
        sql += " ORDER BY id LIMIT ?"
        params.append(limit)
        return [Event(id=r[0], kind=r[1], created_at=parse_ts(r[2]), conversation_id=r[3],  # type: ignore[arg-type]
                      actor=r[4], data=loads(r[5]) or {})
                for r in self.c.execute(sql, params).fetchall()]

    # outbox ------------------------------------------------------------------------
    async def outbox_add(self, row: OutboxRow) -> int:
        cur = self.c.execute(
            "INSERT INTO outbox (idempotency_key, conversation_id, message_id, channel, thread_key, "
            "recipient, payload, status, attempts, next_attempt_at, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
            (row.idempotency_key, row.conversation_id, row.message_id, row.channel, row.thread_key,
             row.recipient, dumps(row.payload), str(row.status), ts(row.next_attempt_at),
             ts(row.created_at)))
        return int(cur.lastrowid or 0)

    async def outbox_lease(self, now: datetime, until: datetime, limit: int) -> list[OutboxRow]:
        # A row is due when pending, its time has come, it is not leased by a live sender,
        # and no older row of the same thread is still waiting (keeps per-chat order).
        rows = self.c.execute(
            f"SELECT {_OUTBOX_COLS} FROM outbox o WHERE o.status = 'pending' "
            "AND o.next_attempt_at <= ? AND (o.lease_until IS NULL OR o.lease_until < ?) "
            "AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.status = 'pending' "
            "AND p.channel = o.channel AND p.thread_key = o.thread_key AND p.id < o.id) "
            "ORDER BY o.next_attempt_at, o.id LIMIT ?",
            (ts(now), ts(now), limit)).fetchall()
        leased = [_outbox(r) for r in rows]
        self.c.executemany(
            "UPDATE outbox SET lease_until = ?, attempts = attempts + 1 WHERE id = ?",
            [(ts(until), row.id) for row in leased])
        for row in leased:
            row.attempts += 1
        return leased

    async def outbox_sent(self, outbox_id: int, external_id: str, now: datetime) -> None:
        self.c.execute(
            "UPDATE outbox SET status = 'sent', sent_at = ?, external_id = ?, lease_until = NULL, "
            "last_error = '' WHERE id = ?", (ts(now), external_id, outbox_id))

    async def outbox_retry_later(self, outbox_id: int, when: datetime, error: str) -> None:
        self.c.execute(
            "UPDATE outbox SET next_attempt_at = ?, lease_until = NULL, last_error = ? WHERE id = ?",
            (ts(when), error, outbox_id))

    async def outbox_give_up(self, outbox_id: int, status: OutboxStatus, error: str) -> None:
        self.c.execute(
            "UPDATE outbox SET status = ?, lease_until = NULL, last_error = ? WHERE id = ?",
            (str(status), error, outbox_id))

    async def outbox_list(self, statuses: Sequence[OutboxStatus], limit: int = 100) -> list[OutboxRow]:
        marks = ",".join("?" * len(statuses))
        rows = self.c.execute(
            f"SELECT {_OUTBOX_COLS} FROM outbox WHERE status IN ({marks}) ORDER BY id LIMIT ?",
            (*map(str, statuses), limit)).fetchall()
        return [_outbox(r) for r in rows]

    async def outbox_requeue(self, ids: Sequence[int] | None, now: datetime) -> int:
        sql = ("UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ?, "
               "lease_until = NULL WHERE status IN ('dead', 'failed')")
        params: list[Any] = [ts(now)]
        if ids is None:
            sql += " AND status = 'dead'"
        else:
            sql += f" AND id IN ({','.join('?' * len(ids))})"
            params.extend(ids)
        return self.c.execute(sql, params).rowcount

    async def outbox_next_due(self) -> datetime | None:
        r = self.c.execute(
            "SELECT MIN(CASE WHEN lease_until > next_attempt_at THEN lease_until "
            "ELSE next_attempt_at END) FROM outbox WHERE status = 'pending'").fetchone()
        return parse_ts(r[0]) if r else None

    async def get_outbox(self, outbox_id: int) -> OutboxRow | None:
        r = self.c.execute(f"SELECT {_OUTBOX_COLS} FROM outbox WHERE id = ?", (outbox_id,)).fetchone()
        return _outbox(r) if r else None

    # metrics -----------------------------------------------------------------------
    async def metrics_snapshot(self) -> tuple[dict[str, tuple[int, datetime | None]], dict[str, int]]:
        waiting = {q: (n, parse_ts(oldest)) for q, n, oldest in self.c.execute(
            "SELECT queue, COUNT(*), MIN(queued_at) FROM conversations WHERE status = 'queued' "
            "GROUP BY queue")}
        outbox = dict(self.c.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status").fetchall())
        return waiting, outbox

    # agents ------------------------------------------------------------------------
    async def upsert_agent(self, agent: Agent, now: datetime) -> int:
        a = agent
        self.c.execute(
            "INSERT INTO agents (name, display_name, email, role, languages, capacity, disabled, "
            "source, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
            "display_name = excluded.display_name, email = excluded.email, role = excluded.role, "
            "languages = excluded.languages, capacity = excluded.capacity, source = excluded.source",
            (a.name, a.display_name, a.email, str(a.role), dumps(a.languages), a.capacity,
             int(a.disabled), a.source, ts(now)))
        return int(self.c.execute("SELECT id FROM agents WHERE name = ?", (a.name,)).fetchone()[0])

    async def get_agent(self, name: str, *, for_update: bool = False) -> Agent | None:
        # for_update: the single SQLite writer already serialises units of work.
        r = self.c.execute(f"SELECT {_AGENT_COLS} FROM agents WHERE name = ?", (name,)).fetchone()
        return _agent(r) if r else None

    async def list_agents(self, *, include_disabled: bool = True) -> list[Agent]:
        sql = f"SELECT {_AGENT_COLS} FROM agents"
        if not include_disabled:
            sql += " WHERE disabled = 0"
        return [_agent(r) for r in self.c.execute(sql + " ORDER BY name").fetchall()]

    async def set_agent_online(self, name: str, online: bool, now: datetime) -> bool:
        cur = self.c.execute(
            "UPDATE agents SET online = ?, online_changed_at = ? WHERE name = ? AND online != ?",
            (int(online), ts(now), name, int(online)))
        return cur.rowcount == 1

    async def set_agent_disabled(self, name: str, disabled: bool) -> bool:
        cur = self.c.execute("UPDATE agents SET disabled = ? WHERE name = ?", (int(disabled), name))
        return cur.rowcount == 1

    async def touch_agent_assigned(self, name: str, now: datetime) -> None:
        self.c.execute("UPDATE agents SET last_assigned_at = ? WHERE name = ?", (ts(now), name))

    async def agent_loads(self) -> dict[str, int]:
        rows = self.c.execute(
            "SELECT assignee, COUNT(*) FROM conversations WHERE status = 'assigned' "
            "AND assignee != '' GROUP BY assignee").fetchall()
        return {r[0]: int(r[1]) for r in rows}

    async def add_token(self, token: ApiToken) -> int:
        cur = self.c.execute(
            "INSERT INTO api_tokens (agent_id, token_hash, label, created_at) VALUES (?, ?, ?, ?)",
            (token.agent_id, token.token_hash, token.label, ts(token.created_at)))
        return int(cur.lastrowid or 0)

    async def find_token(self, token_hash: str) -> tuple[ApiToken, Agent] | None:
        cols = ", ".join("a." + c.strip() for c in _AGENT_COLS.split(","))
        r = self.c.execute(
            f"SELECT t.id, t.agent_id, t.token_hash, t.label, t.created_at, {cols} "
            "FROM api_tokens t JOIN agents a ON a.id = t.agent_id "
            "WHERE t.token_hash = ? AND t.revoked_at IS NULL", (token_hash,)).fetchone()
        if not r:
            return None
        return ApiToken(r[0], r[1], r[2], r[3], parse_ts(r[4])), _agent(r[5:])

    async def revoke_tokens(self, agent_id: int, now: datetime, token_id: int | None = None) -> int:
        sql = "UPDATE api_tokens SET revoked_at = ? WHERE agent_id = ? AND revoked_at IS NULL"
        params: list[Any] = [ts(now), agent_id]
        if token_id is not None:
            sql += " AND id = ?"
            params.append(token_id)
        return self.c.execute(sql, params).rowcount

    async def claim_conversation(self, conversation_id: int, agent: str, now: datetime) -> bool:
        cur = self.c.execute(
            "UPDATE conversations SET status = 'assigned', assignee = ?, assigned_at = ?, "
            "updated_at = ? WHERE id = ? AND status = 'queued'",
            (agent, ts(now), ts(now), conversation_id))
        return cur.rowcount == 1

    async def list_conversations(self, flt: ConversationFilter, limit: int) -> list[Conversation]:
        where, params = _conversation_where(flt)
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
        sql = f"SELECT {_CONV_COLS} FROM conversations"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self.c.execute(f"{sql} ORDER BY {order} LIMIT ?", (*params, limit)).fetchall()
        return [_conversation(r) for r in rows]

    async def get_conversations(self, ids: Sequence[int]) -> list[Conversation]:
        if not ids:
            return []
        rows = self.c.execute(
            f"SELECT {_CONV_COLS} FROM conversations WHERE id IN ({','.join('?' * len(ids))})",
            tuple(ids)).fetchall()
        return [_conversation(r) for r in rows]

    async def queue_counts(self) -> list[QueueCount]:
        waiting = "status = 'queued' AND snoozed_until IS NULL"
        rows = self.c.execute(
            f"SELECT queue, SUM(CASE WHEN {waiting} THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN status = 'assigned' THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN snoozed_until IS NOT NULL THEN 1 ELSE 0 END), "
            f"MIN(CASE WHEN {waiting} THEN queued_at END) FROM conversations "
            "WHERE status IN ('queued', 'assigned') GROUP BY queue ORDER BY queue").fetchall()
        return [QueueCount(r[0], int(r[1]), int(r[2]), int(r[3]), parse_ts(r[4])) for r in rows]

    async def due_snoozes(self, now: datetime, limit: int = 100) -> list[int]:
        rows = self.c.execute(
            "SELECT id FROM conversations WHERE snoozed_until IS NOT NULL AND snoozed_until <= ? "
            "ORDER BY snoozed_until LIMIT ?", (ts(now), limit)).fetchall()
        return [r[0] for r in rows]

    async def end_snooze(self, conversation_id: int, now: datetime) -> bool:
        cur = self.c.execute(
            "UPDATE conversations SET snoozed_until = NULL, updated_at = ? WHERE id = ? "
            "AND snoozed_until IS NOT NULL AND snoozed_until <= ?",
            (ts(now), conversation_id, ts(now)))
        return cur.rowcount == 1

    async def sla_breach_candidates(self, now: datetime, limit: int = 100) -> list[tuple[int, str]]:
        rows = self.c.execute(
            "SELECT id, 'first_response' FROM conversations WHERE status IN ('queued', 'assigned') "
            "AND first_response_at IS NULL AND first_response_due <= ? "
            "AND sla_first_breached_at IS NULL "
            "UNION ALL SELECT id, 'resolution' FROM conversations "
            "WHERE status IN ('queued', 'assigned') AND resolution_due <= ? "
            "AND sla_resolution_breached_at IS NULL AND sla_paused_at IS NULL LIMIT ?",
            (ts(now), ts(now), limit)).fetchall()
        return [(r[0], r[1]) for r in rows]

    async def mark_sla_breach(self, conversation_id: int, kind: str, now: datetime) -> bool:
        column = {"first_response": "sla_first_breached_at",
                  "resolution": "sla_resolution_breached_at"}[kind]
        cur = self.c.execute(
            f"UPDATE conversations SET {column} = ? WHERE id = ? AND {column} IS NULL",
            (ts(now), conversation_id))
        return cur.rowcount == 1

    async def abandoned_assignments(self, offline_before: datetime, limit: int = 100) -> list[int]:
        rows = self.c.execute(
            "SELECT c.id FROM conversations c JOIN agents a ON a.name = c.assignee "
            "WHERE c.status = 'assigned' AND (a.online = 0 OR a.disabled = 1) "
            "AND (a.online_changed_at IS NULL OR a.online_changed_at <= ?) "
            "AND (c.last_agent_at IS NULL OR c.last_customer_at > c.last_agent_at) "
            "ORDER BY c.id LIMIT ?", (ts(offline_before), limit)).fetchall()
        return [r[0] for r in rows]

    async def next_agent_deadline(self) -> datetime | None:
        r = self.c.execute(
            "SELECT MIN(x) FROM ("
            "SELECT MIN(snoozed_until) AS x FROM conversations WHERE snoozed_until IS NOT NULL "
            "UNION ALL SELECT MIN(first_response_due) FROM conversations "
            "WHERE status IN ('queued', 'assigned') AND first_response_at IS NULL "
            "AND sla_first_breached_at IS NULL "
            "UNION ALL SELECT MIN(resolution_due) FROM conversations "
            "WHERE status IN ('queued', 'assigned') AND sla_resolution_breached_at IS NULL "
            "AND sla_paused_at IS NULL) d").fetchone()
        return parse_ts(r[0]) if r else None

    async def list_identities(self, contact_id: int) -> list[Identity]:
        rows = self.c.execute(
            "SELECT id, contact_id, channel, external_id, username, display_name FROM identities "
            "WHERE contact_id = ? ORDER BY id", (contact_id,)).fetchall()
        return [Identity(*r) for r in rows]

    async def merge_contacts(self, source_id: int, target_id: int) -> None:
        self.c.execute("UPDATE identities SET contact_id = ? WHERE contact_id = ?",
                       (target_id, source_id))
        self.c.execute("UPDATE conversations SET contact_id = ? WHERE contact_id = ?",
                       (target_id, source_id))
        self.c.execute("UPDATE contacts SET merged_into = ? WHERE id = ?", (target_id, source_id))

    async def last_event_id(self) -> int:
        return int(self.c.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0])

    # console ------------------------------------------------------------------------
    async def set_agent_password(self, name: str, password_hash: str | None) -> bool:
        cur = self.c.execute("UPDATE agents SET password_hash = ? WHERE name = ?",
                             (password_hash, name))
        return cur.rowcount == 1

    async def find_agent_login(self, login: str) -> tuple[Agent, str | None] | None:
        sql = f"SELECT {_AGENT_COLS}, password_hash FROM agents WHERE "
        rows = self.c.execute(sql + "name = ?", (login,)).fetchall()
        if not rows and "@" in login:
            rows = self.c.execute(sql + "email != '' AND LOWER(email) = LOWER(?)",
                                  (login,)).fetchall()
        if len(rows) != 1:
            return None
        return _agent(rows[0][:-1]), rows[0][-1]


def _conversation_where(flt: ConversationFilter) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    if flt.statuses:
        where.append(f"status IN ({','.join('?' * len(flt.statuses))})")
        params.extend(flt.statuses)
    if flt.queues:
        where.append(f"queue IN ({','.join('?' * len(flt.queues))})")
        params.extend(flt.queues)
    if flt.assignee is not None:
        where.append("assignee = ?")
        params.append(flt.assignee)
    if flt.priority:
        where.append("priority = ?")
        params.append(flt.priority)
    if flt.tag:  # tags are a JSON list of strings: match the quoted element
        where.append("tags LIKE ?")
        params.append('%' + dumps(flt.tag) + '%')
    if flt.contact_id is not None:
        where.append("contact_id = ?")
        params.append(flt.contact_id)
    if not flt.include_snoozed:
        where.append("snoozed_until IS NULL")
    return where, params
