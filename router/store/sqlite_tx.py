"""The SQL of the SQLite backend: one `Tx` implementation over a sqlite3 connection."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import orjson

from router.model import (
    AuthorKind,
    Contact,
    Conversation,
    Direction,
    Event,
    Identity,
    Message,
    OutboxRow,
    OutboxStatus,
    Status,
)
from router.store.base import Tx, parse_ts, ts


def dumps(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def loads(value: str | None) -> Any:
    return orjson.loads(value) if value else None


_CONV_COLS = ("id, contact_id, channel, thread_key, recipient, status, language, queue, priority, "
              "tags, assignee, message_count, bot_turns, metadata, created_at, updated_at, "
              "queued_at, first_response_at, resolved_at, last_customer_at")
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
        last_customer_at=parse_ts(r[19]),
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
            "created_at, updated_at, queued_at, first_response_at, resolved_at, last_customer_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (cv.contact_id, cv.channel, cv.thread_key, cv.recipient, str(cv.status), cv.language,
             cv.queue, cv.priority, dumps(cv.tags), cv.assignee, cv.message_count, cv.bot_turns,
             dumps(cv.metadata), ts(cv.created_at), ts(cv.updated_at or cv.created_at),
             ts(cv.queued_at), ts(cv.first_response_at), ts(cv.resolved_at),
             ts(cv.last_customer_at)))
        return int(cur.lastrowid or 0)

    async def save_conversation(self, conversation: Conversation, now: datetime) -> None:
        cv = conversation
        cv.updated_at = now
        self.c.execute(
            "UPDATE conversations SET status = ?, language = ?, queue = ?, priority = ?, tags = ?, "
            "assignee = ?, message_count = ?, bot_turns = ?, metadata = ?, updated_at = ?, "
            "queued_at = ?, first_response_at = ?, resolved_at = ?, last_customer_at = ?, "
            "recipient = ? WHERE id = ?",
            (str(cv.status), cv.language, cv.queue, cv.priority, dumps(cv.tags), cv.assignee,
             cv.message_count, cv.bot_turns, dumps(cv.metadata), ts(now), ts(cv.queued_at),
             ts(cv.first_response_at), ts(cv.resolved_at), ts(cv.last_customer_at),
             cv.recipient, cv.id))

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
