"""SQL for the inbox, contacts, conversations, messages and events."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from router.domain.model import Contact, Conversation, Event, Identity, Message, OutboxRow
from router.store import sql_rows as rows
from router.store.base import BOT_REPLIES_READ, SenderLookup, parse_ts, ts
from router.store.sql_base import Params, SqlBase
from router.store.sql_outbox import OUTBOX_INSERT, outbox_values
from router.store.sql_rows import dumps, loads, marks

_IDENTITY = "SELECT id, contact_id, channel, external_id, username, display_name FROM identities"
_CONTACT_COLS = "id, display_name, email, phone, language, tags, fields, unreachable, created_at"


def _contact(r: Sequence[Any]) -> Contact:
    return Contact(id=r[0], display_name=r[1], email=r[2], phone=r[3], language=r[4],
                   tags=loads(r[5]) or [], fields=loads(r[6]) or {}, unreachable=bool(r[7]),
                   created_at=parse_ts(r[8]))


# the pipeline's per-message contact lookup: find_identity and get_contact in one statement
_CONTACT_BY_IDENTITY = (
    f"SELECT {', '.join('c.' + c for c in _CONTACT_COLS.split(', '))} FROM identities i "
    "JOIN contacts c ON c.id = i.contact_id WHERE i.channel = ? AND i.external_id = ?")


@functools.lru_cache(maxsize=32)
def _by_thread_keys(count: int, for_update: str) -> str:
    """The newest conversation of any of `count` thread keys (built once per shape)."""
    return (f"SELECT {rows.CONV_COLS} FROM conversations WHERE id = (SELECT "
            f"MAX(conversation_id) FROM thread_keys WHERE channel = ? AND key IN "
            f"({marks(count)})){for_update}")


@functools.lru_cache(maxsize=256)
def _update_sql(columns: tuple[int, ...]) -> str:
    sets = ", ".join(f"{rows.CONV_SAVED[i]} = ?" for i in columns)
    return f"UPDATE conversations SET {sets} WHERE id = ?"


# Read before every decision: index messages_bot_replies (migration 0006) covers it.
# Unordered: an ORDER BY across the contact's conversations needs a sorter, which cost
# twice the rest of the statement (31,000 instructions of 55,000 in callgrind); the
# rows of the window are few (the bots' rate limit bounds them), and sorting them in
# Python is cheap. Beyond BOT_REPLY_SCAN rows, the newest are picked by SQL instead.
BOT_REPLY_TIMES = (
    "SELECT m.created_at FROM messages m JOIN conversations c ON c.id = m.conversation_id "
    "WHERE c.contact_id = ? AND m.author_kind = 'bot' AND m.created_at >= ? LIMIT ?")
BOT_REPLY_TIMES_NEWEST = BOT_REPLY_TIMES.replace(" LIMIT ?", " ORDER BY m.created_at DESC LIMIT ?")
BOT_REPLY_SCAN = 500
# PostgreSQL: the same read, each of the contact's conversations looked up in the index
# (`OFFSET 0` keeps the planner from flattening the subquery). The join above let it start
# from the bot replies' `created_at` whenever its statistics were stale (a fresh or
# fast-growing database, before autovacuum analysed it): every bot reply of the day was
# read and joined, 1,500 rows fetched per message after 1,800 messages and growing,
# 2 ms instead of 0.15 ms of the server's CPU (issue 28).
# Numbered parameters, as the statements above take them: contact, since, limit.
PG_BOT_REPLY_TIMES = (
    "SELECT m.created_at FROM conversations c CROSS JOIN LATERAL ("
    "SELECT created_at FROM messages WHERE conversation_id = c.id AND author_kind = 'bot' "
    "AND created_at >= $2 OFFSET 0) m WHERE c.contact_id = $1 LIMIT $3")
PG_BOT_REPLY_TIMES_NEWEST = PG_BOT_REPLY_TIMES.replace(
    " LIMIT $3", " ORDER BY m.created_at DESC LIMIT $3")


#: columns of `_CONTACT_COLS`: where `find_sender`'s row turns from contact to conversation
_CONTACT_WIDTH = len(_CONTACT_COLS.split(", "))


@functools.lru_cache(maxsize=4)
def pg_find_sender_sql(for_update: str) -> str:
    """`find_sender`'s three reads in one statement (PostgreSQL), each a LATERAL subquery
    (a missing contact or conversation is a row of NULLs), made of the statements they
    replace: `_CONTACT_BY_IDENTITY` ($1 channel, $2 external id), the newest conversation
    of the thread keys ($3, an array), locked as `find_conversation` locks it, and
    `PG_BOT_REPLY_TIMES`' unordered scan of the contact's bot replies since $4 (at most $5)."""
    contact = _CONTACT_BY_IDENTITY.replace("i.channel = ?", "i.channel = $1").replace(
        "i.external_id = ?", "i.external_id = $2")
    # its parameters renumbered: $3 (limit) first, so no number is renamed twice
    bot_scan = PG_BOT_REPLY_TIMES.replace("$3", "$5").replace("$2", "$4").replace("$1", "ct.id")
    return (
        f"SELECT ct.*, cv.*, b.times FROM (SELECT 1) AS one LEFT JOIN LATERAL ({contact}) ct "
        f"ON true LEFT JOIN LATERAL (SELECT {rows.CONV_COLS} FROM conversations WHERE id = "
        "(SELECT MAX(conversation_id) FROM thread_keys WHERE channel = $1 AND "
        f"key = ANY($3::text[])){for_update}) cv ON true "
        f"LEFT JOIN LATERAL (SELECT array_agg(m.created_at) AS times FROM ({bot_scan}) m) b "
        "ON true")


_INSERT_IDENTITY = (
    "INSERT INTO identities (contact_id, channel, external_id, username, display_name, "
    "created_at) VALUES (?, ?, ?, ?, ?, ?)")
_INSERT_THREAD_KEY = ("INSERT INTO thread_keys (conversation_id, channel, key) VALUES (?, ?, ?) "
                      "ON CONFLICT DO NOTHING")


def identity_lock(channel: str, external_id: str) -> str:
    """The find-or-create lock name of an identity (`find_identity`, `find_contact`)."""
    return f"identity\x1f{channel}\x1f{external_id}"


def thread_lock(channel: str, key: str) -> str:
    """The find-or-create lock name of a thread key (`find_conversation`)."""
    return f"thread\x1f{channel}\x1f{key}"


def _identity_values(identity: Identity, now: datetime) -> tuple[Any, ...]:
    """`_INSERT_IDENTITY`'s parameters after the contact id."""
    return (identity.channel, identity.external_id, identity.username, identity.display_name,
            ts(now))


class SqlConversations(SqlBase):
    #: `bot_reply_times`' statements (first the unordered scan, then the newest), each
    #: with the parameters contact id, since, limit; PostgreSQL's `PgTx` has its own
    bot_reply_sql: tuple[str, str] = (BOT_REPLY_TIMES, BOT_REPLY_TIMES_NEWEST)

    # inbox -------------------------------------------------------------------------
    async def inbox_claim(self, channel: str, external_id: str, now: datetime) -> bool:
        # A concurrent claim of the same key waits for ours and then does nothing.
        return await self._exec(
            "INSERT INTO inbox (channel, external_id, received_at) VALUES (?, ?, ?) "
            "ON CONFLICT DO NOTHING", (channel, external_id, ts(now))) == 1

    async def inbox_link(self, channel: str, external_id: str, message_id: int) -> None:
        await self._exec("UPDATE inbox SET message_id = ? WHERE channel = ? AND external_id = ?",
                         (message_id, channel, external_id))

    async def inbox_accept(self, channel: str, external_id: str, now: datetime,
                           pending: str) -> bool:
        return await self._exec(
            "INSERT INTO inbox (channel, external_id, received_at, pending) VALUES (?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING", (channel, external_id, ts(now), pending)) == 1

    async def inbox_take(self, channel: str, external_id: str, *, sender: str | None = None,
                         thread_keys: Sequence[str] = ()) -> bool:
        # The UPDATE locks the row: another instance's take waits for our commit and then
        # finds nothing pending, so a message is processed once.
        take = ("UPDATE inbox SET pending = NULL WHERE channel = ? AND external_id = ? "
                "AND pending IS NOT NULL AND failed IS NULL")
        if not self.locks_keys or (sender is None and not thread_keys):
            return await self._exec(take, (channel, external_id)) == 1
        names = ([identity_lock(channel, sender)] if sender is not None else [],
                 [thread_lock(channel, key) for key in thread_keys])
        return await self._exec_then_lock(take, (channel, external_id), names) == 1

    async def inbox_pending(self, limit: int, *, older_than: datetime | None = None,
                            failed: bool = False) -> list[tuple[str, str, str]]:
        where = "pending IS NOT NULL AND failed IS " + ("NOT NULL" if failed else "NULL")
        params: list[Any] = []
        if older_than is not None:
            where += " AND received_at < ?"
            params.append(ts(older_than))
        found = await self._all(f"SELECT channel, external_id, pending FROM inbox WHERE {where} "
                                "ORDER BY received_at, channel, external_id LIMIT ?",
                                (*params, limit))
        return [(r[0], r[1], r[2]) for r in found]

    async def inbox_fail(self, channel: str, external_id: str, error: str) -> None:
        await self._exec("UPDATE inbox SET failed = ? WHERE channel = ? AND external_id = ? "
                         "AND pending IS NOT NULL", (error[:2000] or "failed", channel, external_id))

    async def inbox_failures(self, limit: int) -> list[tuple[str, str, str, str]]:
        found = await self._all("SELECT channel, external_id, received_at, failed FROM inbox "
                                "WHERE pending IS NOT NULL AND failed IS NOT NULL "
                                "ORDER BY received_at LIMIT ?", (limit,))
        return [(r[0], r[1], r[2], r[3]) for r in found]

    async def inbox_counts(self) -> dict[str, int]:
        r = await self._one("SELECT COUNT(*), COUNT(failed) FROM inbox WHERE pending IS NOT NULL")
        total, failed = (int(r[0]), int(r[1])) if r else (0, 0)
        return {"pending": total - failed, "failed": failed}

    async def inbox_retry(self, channel: str | None = None) -> int:
        if channel is None:
            return await self._exec("UPDATE inbox SET failed = NULL WHERE failed IS NOT NULL "
                                    "AND pending IS NOT NULL")
        return await self._exec("UPDATE inbox SET failed = NULL WHERE failed IS NOT NULL "
                                "AND pending IS NOT NULL AND channel = ?", (channel,))

    # contacts ----------------------------------------------------------------------
    async def find_identity(self, channel: str, external_id: str) -> Identity | None:
        if self.locks_keys:
            await self._lock_keys(identity_lock(channel, external_id))
        r = await self._one(f"{_IDENTITY} WHERE channel = ? AND external_id = ?",
                            (channel, external_id))
        return Identity(*r) if r else None

    async def create_contact(self, contact: Contact, now: datetime,
                             identity: Identity | None = None) -> int:
        then = [] if identity is None else [(_INSERT_IDENTITY, _identity_values(identity, now))]
        contact_id = await self._insert_then(
            "INSERT INTO contacts (display_name, email, phone, language, tags, fields, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (contact.display_name, contact.email, contact.phone, contact.language,
             dumps(contact.tags), dumps(contact.fields), ts(now)), then)
        if self.hooks is not None:  # issue 27: outgoing webhooks
            await self.hooks.contact(self, contact, contact_id, now)
        return contact_id

    async def create_identity(self, identity: Identity, now: datetime) -> int:
        return await self._insert(_INSERT_IDENTITY,
                                  (identity.contact_id, *_identity_values(identity, now)))

    async def get_contact(self, contact_id: int) -> Contact | None:
        r = await self._one(f"SELECT {_CONTACT_COLS} FROM contacts WHERE id = ?", (contact_id,))
        return _contact(r) if r else None

    async def find_contact(self, channel: str, external_id: str) -> Contact | None:
        # find_identity + get_contact in one statement (the pipeline's per-message lookup)
        if self.locks_keys:
            await self._lock_keys(identity_lock(channel, external_id))
        r = await self._one(_CONTACT_BY_IDENTITY, (channel, external_id))
        return _contact(r) if r else None

    async def update_contact(self, contact: Contact) -> None:
        await self._exec(  # not `unreachable`: see `set_contact_unreachable`
            "UPDATE contacts SET display_name = ?, email = ?, phone = ?, language = ?, tags = ?, "
            "fields = ? WHERE id = ?",
            (contact.display_name, contact.email, contact.phone, contact.language,
             dumps(contact.tags), dumps(contact.fields), contact.id))

    async def set_contact_unreachable(self, contact_id: int, unreachable: bool) -> None:
        await self._exec("UPDATE contacts SET unreachable = ? WHERE id = ?",
                         (int(unreachable), contact_id))

    async def set_contact_language(self, contact_id: int, language: str) -> None:
        await self._exec_later("UPDATE contacts SET language = ? WHERE id = ?",
                               (language, contact_id))

    async def list_identities(self, contact_id: int) -> list[Identity]:
        return [Identity(*r) for r in await self._all(
            f"{_IDENTITY} WHERE contact_id = ? ORDER BY id", (contact_id,))]

    async def merge_contacts(self, source_id: int, target_id: int) -> None:
        await self._exec("UPDATE identities SET contact_id = ? WHERE contact_id = ?",
                         (target_id, source_id))
        await self._exec("UPDATE conversations SET contact_id = ? WHERE contact_id = ?",
                         (target_id, source_id))
        await self._exec("UPDATE contacts SET merged_into = ? WHERE id = ?", (target_id, source_id))

    # conversations -----------------------------------------------------------------
    async def find_conversation(self, channel: str, keys: Sequence[str]) -> Conversation | None:
        if not keys:
            return None
        # Two instances receiving the first messages of one thread must not open two
        # conversations: the keys stay locked until this unit has created its own.
        if self.locks_keys:
            await self._lock_keys(*(thread_lock(channel, k) for k in keys))
        r = await self._one(_by_thread_keys(len(keys), self.for_update), (channel, *keys))
        return rows.conversation(r) if r else None

    async def find_sender(self, channel: str, external_id: str, thread_keys: Sequence[str],
                          bot_since: datetime) -> SenderLookup:
        if not self.locks_keys:  # SQLite: three statements cost no round trip
            return await super().find_sender(channel, external_id, thread_keys, bot_since)
        # the locks `find_contact` and `find_conversation` take, in their order (held
        # already when the unit's inbox take took them)
        await self._lock_keys(identity_lock(channel, external_id))
        await self._lock_keys(*(thread_lock(channel, k) for k in thread_keys))
        r = await self._one(pg_find_sender_sql(self.for_update),
                            (channel, external_id, list(thread_keys), ts(bot_since),
                             BOT_REPLY_SCAN + 1))
        assert r is not None  # one row always, NULLs for what is missing
        contact = _contact(r[:_CONTACT_WIDTH]) if r[0] is not None else None
        conversation = (rows.conversation(r[_CONTACT_WIDTH:-1])
                        if r[_CONTACT_WIDTH] is not None else None)
        times = r[-1] or []
        if contact is None:
            return SenderLookup(None, conversation, None)
        if len(times) > BOT_REPLY_SCAN:  # a contact the bot talked to a lot: let SQL pick
            return SenderLookup(contact, conversation,
                                await self.bot_reply_times(contact.id, bot_since))
        return SenderLookup(contact, conversation, _newest_times(times, BOT_REPLIES_READ))

    async def get_conversation(self, conversation_id: int) -> Conversation | None:
        r = await self._one(f"SELECT {rows.CONV_COLS} FROM conversations WHERE id = ?"
                            f"{self.for_update}", (conversation_id,))
        return rows.conversation(r) if r else None

    async def create_conversation(self, conversation: Conversation,
                                  thread_keys: Sequence[str] = ()) -> int:
        cv = conversation
        cv.updated_at = cv.updated_at or cv.created_at  # as stored below
        cv.stored = rows.conversation_values(cv)
        return await self._insert_then(
            "INSERT INTO conversations (contact_id, channel, thread_key, recipient, status, "
            "language, queue, priority, tags, assignee, message_count, bot_turns, metadata, "
            "created_at, updated_at, queued_at, first_response_at, resolved_at, last_customer_at, "
            f"{rows.AGENT_CONV_SET.replace(' = ?', '')}) VALUES ({marks(27)})",
            (cv.contact_id, cv.channel, cv.thread_key, cv.recipient, str(cv.status), cv.language,
             cv.queue, cv.priority, dumps(cv.tags), cv.assignee, cv.message_count, cv.bot_turns,
             dumps(cv.metadata), ts(cv.created_at), ts(cv.updated_at or cv.created_at),
             ts(cv.queued_at), ts(cv.first_response_at), ts(cv.resolved_at),
             ts(cv.last_customer_at), *rows.agent_conv_values(cv)),
            [(_INSERT_THREAD_KEY, (cv.channel, key)) for key in dict.fromkeys(thread_keys) if key])

    async def save_conversation(self, conversation: Conversation, now: datetime) -> None:
        """Write the columns that differ from what was read (all of them for an object
        that was not read from the store). A full-row UPDATE cost 18 us against 5 us:
        every assigned column's indexes are updated, changed or not."""
        cv = conversation
        cv.updated_at = now
        values = rows.conversation_values(cv)
        stored = cv.stored
        if len(stored) == len(values):
            changed = tuple([i for i in range(len(values)) if values[i] != stored[i]])
        else:
            changed = tuple(range(len(values)))
        if changed:  # a second save in the same unit may have nothing left to write
            await self._exec_later(_update_sql(changed), (*(values[i] for i in changed), cv.id))
        cv.stored = values

    async def add_thread_keys(self, channel: str, keys: Iterable[str], conversation_id: int) -> None:
        await self._many(_INSERT_THREAD_KEY, [(conversation_id, channel, k) for k in keys if k])

    # messages and events -----------------------------------------------------------
    async def insert_message(self, message: Message, raw: dict[str, Any] | None = None, *,
                             inbox: tuple[str, str] | None = None,
                             outbox: OutboxRow | None = None) -> int:
        m = message
        then: list[tuple[str, Params]] = []
        if inbox is not None:
            then.append(("UPDATE inbox SET message_id = ? WHERE channel = ? AND external_id = ?",
                         inbox))
        if outbox is not None:
            then.append((OUTBOX_INSERT, outbox_values(outbox)))
        message_id = await self._insert_then(
            "INSERT INTO messages (conversation_id, direction, author_kind, author_id, text, "
            "language, external_id, attachments, internal, raw, created_at) "
            f"VALUES ({marks(11)})",
            (m.conversation_id, str(m.direction), str(m.author_kind), m.author_id, m.text,
             m.language, m.external_id, dumps(m.attachments), int(m.internal),
             dumps(raw) if raw is not None else None, ts(m.created_at)), then)
        if self.hooks is not None:  # issue 27: outgoing webhooks
            await self.hooks.message(self, m, message_id)
        return message_id

    async def find_message(self, conversation_channel: str, external_id: str) -> Message | None:
        r = await self._one(
            f"SELECT {', '.join('m.' + c.strip() for c in rows.MSG_COLS.split(','))} "
            "FROM messages m JOIN conversations c ON c.id = m.conversation_id "
            "WHERE c.channel = ? AND m.external_id = ? ORDER BY m.id DESC LIMIT 1",
            (conversation_channel, external_id))
        return rows.message(r) if r else None

    async def edit_message(self, message_id: int, text: str, now: datetime) -> None:
        await self._exec("UPDATE messages SET text = ?, edited_at = ? WHERE id = ?",
                         (text, ts(now), message_id))

    async def update_message_attachments(self, message_id: int,
                                         attachments: list[dict[str, Any]]) -> None:
        await self._exec("UPDATE messages SET attachments = ? WHERE id = ?",
                         (dumps(attachments), message_id))

    async def messages_with_attachment_mark(self, channel: str, mark: str,
                                            limit: int = 100) -> list[Message]:
        # attachments is compact JSON text on both backends (sql_rows.dumps), so a LIKE on
        # the key/value text finds the jobs; the channel join keeps it to one bot's rows.
        pattern = "%" + mark.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return [rows.message(r) for r in await self._all(
            f"SELECT {', '.join('m.' + c.strip() for c in rows.MSG_COLS.split(','))} "
            "FROM messages m JOIN conversations c ON c.id = m.conversation_id "
            "WHERE c.channel = ? AND m.attachments LIKE ? ESCAPE '\\' ORDER BY m.id LIMIT ?",
            (channel, pattern, limit))]

    async def list_messages(self, conversation_id: int, limit: int = 1000) -> list[Message]:
        return [rows.message(r) for r in await self._all(
            f"SELECT {rows.MSG_COLS} FROM messages WHERE conversation_id = ? ORDER BY id LIMIT ?",
            (conversation_id, limit))]

    async def bot_reply_times(self, contact_id: int, since: datetime,
                              limit: int = BOT_REPLIES_READ) -> list[datetime]:
        """The times of the bot's replies to the contact since `since`, newest first, at
        most `limit` of them."""
        after = ts(since)
        scan, newest_sql = self.bot_reply_sql
        found = await self._all(scan, (contact_id, after, BOT_REPLY_SCAN + 1))
        if len(found) > BOT_REPLY_SCAN:  # a contact the bot talked to a lot: let SQL pick
            found = await self._all(newest_sql, (contact_id, after, limit))
        return _newest_times([v for (v,) in found], limit)

    async def insert_event(self, event: Event) -> int:
        event_id = await self._insert(
            "INSERT INTO events (conversation_id, kind, actor, data, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (event.conversation_id, event.kind, event.actor, dumps(event.data),
             ts(event.created_at)))
        if self.hooks is not None:  # issue 27: outgoing webhooks
            await self.hooks.event(self, event)
        return event_id

    async def list_events(self, conversation_id: int | None = None, *, after_id: int = 0,
                          kinds: Sequence[str] = (), limit: int = 1000) -> list[Event]:
        sql = f"SELECT {rows.EVENT_COLS} FROM events WHERE id > ?"
        params: list[Any] = [after_id]
        if conversation_id is not None:
            sql += " AND conversation_id = ?"
            params.append(conversation_id)
        if kinds:
            sql += f" AND kind IN ({marks(len(kinds))})"
            params.extend(kinds)
        sql += " ORDER BY id LIMIT ?"
        params.append(limit)
        return [rows.event(r) for r in await self._all(sql, params)]

    async def follow_events(self, after_id: int, kinds: Sequence[str],
                            limit: int) -> tuple[list[Event], int]:
        """In one statement, so the newest id and the list share its snapshot. A follower
        wakes after every commit; with no event of its kinds (the usual case: bots
        answering), its read is this statement alone, with no transaction around it
        (`Store.read(one_statement=True)`): one round trip on PostgreSQL where the newest
        id, the list, BEGIN and COMMIT were four (issue 28)."""
        kind_filter = f" AND kind IN ({marks(len(kinds))})" if kinds else ""
        found = await self._all(
            f"SELECT n.newest, e.* FROM (SELECT COALESCE(MAX(id), 0) AS newest FROM events) n "
            f"LEFT JOIN (SELECT {rows.EVENT_COLS} FROM events WHERE id > ?{kind_filter} "
            "ORDER BY id LIMIT ?) e ON 1 = 1 ORDER BY e.id",
            (after_id, *kinds, limit))
        events = [rows.event(r[1:]) for r in found if r[1] is not None]
        if len(events) == limit:
            return events, events[-1].id
        newest = int(found[0][0]) if found else 0
        return events, max(after_id, newest, *(e.id for e in events))

    async def last_event_id(self) -> int:
        r = await self._one("SELECT COALESCE(MAX(id), 0) FROM events")
        return int(r[0]) if r else 0


def _newest_times(stored: Sequence[str], limit: int) -> list[datetime]:
    """The newest `limit` of stored timestamps, newest first (the text sorts as time)."""
    return [t for v in sorted(stored, reverse=True)[:limit] if (t := parse_ts(v)) is not None]
