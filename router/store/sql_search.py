"""SQL for search, views and the console's list rows (issue 24), on both backends.

The full-text indexes are the databases' own, kept by triggers (migration 0013): FTS5
tables on SQLite (`messages_fts`, `contacts_fts`), tsvector side tables with GIN indexes
on PostgreSQL (`message_search`, stemmed in the conversation's language; `contact_search`).
Only the MATCH differs between the two; candidates, filters, order and keyset are the
same SQL. Every term is a prefix (search as you type), all terms must match one
document: a message, or a contact with its channel identities.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from router.domain.model import Contact, Conversation, Identity, Message, OutboxRow, Status
from router.store import sql_rows as rows
from router.store.base import NO_DUE, PRIORITY_SQL, parse_ts, ts
from router.store.sql_base import SqlBase
from router.store.sql_rows import dumps, loads, marks

#: the PostgreSQL configurations a word is stemmed with (a message was indexed with the
#: one of its conversation's language; `ir_search_config` in migration 0013)
PG_STEMMED = ("swedish", "finnish", "norwegian", "english")
_CONV = ", ".join("c." + c for c in rows.CONV_COLS.split(", "))
_DUE = ("COALESCE(CASE WHEN c.first_response_at IS NULL THEN c.first_response_due "
        f"ELSE c.resolution_due END, '{NO_DUE}')")
_URGENCY = (PRIORITY_SQL.replace("priority", "c.priority"), _DUE,
            "COALESCE(c.queued_at, c.created_at)", "c.id")
_RECENT = ("c.updated_at", "c.id")


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """What the search box and the views ask for; empty fields do not filter.

    `terms` are words (letters and digits only) that must all match one message or one
    contact; `phone` is a digits-only number (leading zeros dropped) matched against
    contacts' phone numbers; `conversation_id` adds that conversation ("#12").
    """

    terms: tuple[str, ...] = ()
    phone: str = ""
    conversation_id: int | None = None
    statuses: tuple[str, ...] = ()
    queues: tuple[str, ...] = ()
    assignee: str | None = None  # "" = nobody
    tags: tuple[str, ...] = ()  # every one of them
    channels: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    since: datetime | None = None  # active at or after (updated_at)
    until: datetime | None = None  # opened before (created_at)
    snoozed: bool | None = None
    mentions: str = ""  # an agent name: an internal note says @name
    contact_id: int | None = None
    order: str = "recent"
    after: tuple[Any, ...] | None = None  # keyset of the last row seen

    @property
    def text(self) -> bool:
        """Whether this is a text search (else a filtered listing)."""
        return bool(self.terms or self.phone or self.conversation_id is not None)


@dataclass(frozen=True, slots=True)
class SearchHit:
    conversation: Conversation
    message_id: int | None  # the newest message that matched
    by_contact: bool  # the conversation's contact matched


@dataclass(frozen=True, slots=True)
class RowInfo:
    """What a list row shows besides the conversation itself."""

    contact: Contact
    last_text: str = ""
    last_author: str = ""
    last_at: datetime | None = None
    last_internal: bool = False
    matched_text: str = ""


@dataclass(frozen=True, slots=True)
class SavedView:
    id: int
    agent_id: int
    name: str
    filters: dict[str, Any] = field(default_factory=dict)
    position: int = 0


def fold(text: str) -> str:
    """Lowercase without diacritics, as the contacts' documents are (PostgreSQL)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return plain.replace("æ", "a").replace("ø", "o")


def fts5_match(terms: Sequence[str], phone: str = "") -> str:
    """An FTS5 MATCH expression: every term as a prefix (one letter: the word itself)."""
    words = " AND ".join(f'"{t}"' + ("*" if len(t) > 1 else "") for t in terms)
    if phone:
        alt = " OR ".join(f'"{p}"*' for p in _phone_forms(phone))
        return f"({words}) OR {alt}" if words else alt
    return words


def pg_tsquery(terms: Sequence[str], phone: str = "") -> str:
    """`to_tsquery` input: every term as a prefix, ANDed (terms are letters and digits)."""
    words = " & ".join(f"'{t}'" + (":*" if len(t) > 1 else "") for t in terms)
    if phone:
        alt = " | ".join(f"'{p}':*" for p in _phone_forms(phone))
        return f"({words}) | {alt}" if words else alt
    return words


def pg_message_match(terms: Sequence[str]) -> tuple[str, list[str]]:
    """A tsquery expression (SQL) and its parameters for message text: every word must
    match, each as its stem in one of the languages (the message was stemmed in its
    conversation's) or as typed, as a prefix (search as you type; a stem's prefix would
    reach too far: Finnish makes "pakken" 'pak', which begins half the words)."""
    one = " || ".join([*(f"to_tsquery('{c}', ?)" for c in PG_STEMMED), "to_tsquery('simple', ?)"])
    sql = " && ".join(f"({one})" for _ in terms)
    params: list[str] = []
    for term in terms:
        params.extend([f"'{term}'"] * len(PG_STEMMED))
        params.append(f"'{term}'" + (":*" if len(term) > 1 else ""))
    return sql, params


def _phone_forms(digits: str) -> list[str]:
    # contacts' documents hold the number's digits and their last nine (the number
    # without its country code or trunk zero): "+46 70-123 45 67" is found by
    # 0701234567 and by 46701234567
    return [digits] if len(digits) <= 9 else [digits, digits[-9:]]


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


#: what the message index holds (the bot's and the system's lines are canned texts)
INDEXED_AUTHORS = ("customer", "agent")
#: SQLite: index the messages of a bulk copy into an empty store (migrate --to; benches)
SQLITE_INDEX_ALL = ("INSERT INTO messages_fts(rowid, text) SELECT id, text FROM messages "
                    "WHERE author_kind IN ('customer', 'agent')")
SQLITE_INDEX_CONTACTS = ("INSERT INTO contacts_fts(rowid, body) "
                         "SELECT contact_id, body FROM contact_search_docs")
# One contact's document, as one row of VALUES, not INSERT ... SELECT: a statement that
# may insert several rows opens a statement savepoint, and at a savepoint FTS5 writes the
# terms pending in this transaction (every index it was given, messages_fts too) out as a
# segment. In a commit of 30 units that was a segment per new contact, merged again by
# automerge: tens of µs a contact, about 4 % of the service's CPU at 800 new conversations
# a second; as one row, the commit writes one segment per index (issue 28).
_SQLITE_INDEX_CONTACT = ("INSERT INTO contacts_fts(rowid, body) VALUES "
                         "(?1, (SELECT body FROM contact_search_docs WHERE contact_id = ?1))")


class SqlSearch(SqlBase):
    #: which full-text engine: "sqlite" (FTS5) or "postgresql" (tsvector)
    fts: str = "sqlite"

    async def insert_message(self, message: Message, raw: dict[str, Any] | None = None, *,
                             inbox: tuple[str, str] | None = None,
                             outbox: OutboxRow | None = None) -> int:
        """Store a message (router/store/sql_conversations.py) and, on SQLite, index it in
        the same unit: a trigger would make FTS5 write a segment per message (migration
        0013 says why); PostgreSQL's trigger costs no more than this would."""
        message_id: int = await super().insert_message(  # type: ignore[misc]
            message, raw, inbox=inbox, outbox=outbox)
        if self.fts == "sqlite" and str(message.author_kind) in INDEXED_AUTHORS:
            await self._exec("INSERT INTO messages_fts(rowid, text) VALUES (?, ?)",
                             (message_id, message.text))
        return message_id

    async def create_contact(self, contact: Contact, now: datetime,
                             identity: Identity | None = None) -> int:
        """Store a contact (router/store/sql_conversations.py) and build its search
        document once, with its identity (migration 0020: two triggers built it twice, and
        on SQLite each wrote an FTS5 segment). On PostgreSQL the identity's trigger builds
        it, or this does for a contact created without one."""
        contact_id: int = await super().create_contact(  # type: ignore[misc]
            contact, now, identity)
        if self.fts == "sqlite":
            await self._exec(_SQLITE_INDEX_CONTACT, (contact_id,))
        elif identity is None:
            await self._exec("SELECT ir_contact_doc(?)", (contact_id,))
        return contact_id

    async def create_identity(self, identity: Identity, now: datetime) -> int:
        """Store an identity and, on SQLite, rebuild its contact's document (PostgreSQL's
        trigger does, migration 0020)."""
        identity_id: int = await super().create_identity(identity, now)  # type: ignore[misc]
        if self.fts == "sqlite":
            await self._exec("DELETE FROM contacts_fts WHERE rowid = ?", (identity.contact_id,))
            await self._exec(_SQLITE_INDEX_CONTACT, (identity.contact_id,))
        return identity_id

    # matching -------------------------------------------------------------------------
    def _candidates(self, q: SearchQuery) -> tuple[str, list[Any]]:
        """SQL of (cid, mid, bc) rows: conversations a text search found, a matching
        message (NULL when the contact or the id matched) and whether the contact
        matched (bc = 1); grouped by conversation, the newest message counts."""
        parts: list[str] = []
        params: list[Any] = []
        if q.terms and self.fts == "sqlite":
            parts.append("SELECT m.conversation_id AS cid, m.id AS mid, 0 AS bc FROM messages_fts f "
                         "JOIN messages m ON m.id = f.rowid WHERE messages_fts MATCH ?")
            params.append(fts5_match(q.terms))
        elif q.terms:
            match, words = pg_message_match(q.terms)
            parts.append(f"SELECT s.conversation_id AS cid, s.message_id AS mid, 0 AS bc "
                         f"FROM message_search s "
                         f"WHERE s.doc @@ ({match})")
            params.extend(words)
        if q.terms or q.phone:
            if self.fts == "sqlite":
                people = "SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH ?"
                params.append(fts5_match(q.terms, q.phone))
            else:
                people = "SELECT contact_id FROM contact_search WHERE doc @@ to_tsquery('simple', ?)"
                params.append(pg_tsquery([fold(t) for t in q.terms], q.phone))
            parts.append(f"SELECT c.id AS cid, CAST(NULL AS BIGINT) AS mid, 1 AS bc FROM conversations c "
                         f"WHERE c.contact_id IN ({people})")
        if q.conversation_id is not None:
            parts.append("SELECT CAST(? AS BIGINT) AS cid, CAST(NULL AS BIGINT) AS mid, 0 AS bc")
            params.append(q.conversation_id)
        return " UNION ALL ".join(parts), params

    def _filters(self, q: SearchQuery) -> tuple[list[str], list[Any]]:
        where: list[str] = []
        params: list[Any] = []

        def within(column: str, values: Sequence[str]) -> None:
            where.append(f"{column} IN ({marks(len(values))})")
            params.extend(values)

        if q.statuses:
            within("c.status", q.statuses)
        if q.queues:
            within("c.queue", q.queues)
        if q.languages:
            within("c.language", q.languages)
        if q.assignee is not None:
            where.append("c.assignee = ?")
            params.append(q.assignee)
        for tag in q.tags:  # a JSON list of strings: the quoted element
            where.append("c.tags LIKE ? ESCAPE '\\'")
            params.append("%" + _like(dumps(tag)) + "%")
        if q.channels:  # "slack" also means its workspaces' "slack:T123"
            where.append("(" + " OR ".join(["c.channel = ? OR c.channel LIKE ? ESCAPE '\\'"]
                                           * len(q.channels)) + ")")
            for channel in q.channels:
                params.extend([channel, _like(channel) + ":%"])
        if q.since is not None:
            where.append("c.updated_at >= ?")
            params.append(ts(q.since))
        if q.until is not None:
            where.append("c.created_at < ?")
            params.append(ts(q.until))
        if q.snoozed is not None:
            where.append("c.snoozed_until IS " + ("NOT NULL" if q.snoozed else "NULL"))
        if q.contact_id is not None:
            where.append("c.contact_id = ?")
            params.append(q.contact_id)
        if q.mentions:
            where.append("c.id IN (SELECT n.conversation_id FROM messages n WHERE n.internal = 1 "
                         "AND lower(n.text) LIKE ? ESCAPE '\\')")
            params.append("%@" + _like(q.mentions.lower()) + "%")
        return where, params

    def _select(self, q: SearchQuery, columns: str) -> tuple[str, list[str], list[Any]]:
        """(SELECT `columns`, bc, mid FROM ..., WHERE conditions, params) of what `q` finds."""
        where, params = self._filters(q)
        if not q.text:
            return f"SELECT {columns}, 0 AS bc, NULL AS mid FROM conversations c", where, params
        found, found_params = self._candidates(q)
        return (f"SELECT {columns}, hit.bc, hit.mid FROM (SELECT cid, MAX(mid) AS mid, "
                f"MAX(bc) AS bc FROM ({found}) "
                "AS cand GROUP BY cid) AS hit JOIN conversations c ON c.id = hit.cid",
                where, found_params + params)

    async def search_conversations(self, q: SearchQuery, limit: int) -> list[SearchHit]:
        """Conversations `q` finds, in its order, after its keyset; at most `limit`."""
        return (await self.search_page(q, limit, total=False))[0]

    async def search_page(self, q: SearchQuery, limit: int, *, total: bool = True
                          ) -> tuple[list[SearchHit], int]:
        """`search_conversations` and how many `q` finds in all (after its keyset), counted
        in the same statement (a window over the matches, which the order reads anyway)."""
        sql, where, params = self._select(q, _CONV + (", COUNT(*) OVER ()" if total else ", 0"))
        key = _URGENCY if q.order == "urgency" else _RECENT
        if q.after is not None:
            if len(q.after) != len(key):
                return [], 0
            sign = ">" if q.order == "urgency" else "<"
            where.append(f"({', '.join(key)}) {sign} ({marks(len(key))})")
            params.extend(q.after)
        if where:
            sql += " WHERE " + " AND ".join(where)
        direction = "" if q.order == "urgency" else " DESC"
        sql += " ORDER BY " + ", ".join(k + direction for k in key) + " LIMIT ?"
        found = await self._all(sql, [*params, limit])
        hits = [SearchHit(rows.conversation(r[:-3]), r[-1], bool(r[-2])) for r in found]
        return hits, int(found[0][-3]) if found else 0

    async def count_conversations_matching(self, q: SearchQuery, cap: int = 1000) -> int:
        """How many conversations `q` finds, counted up to `cap`."""
        sql, where, params = self._select(q, "c.id")
        if where:
            sql += " WHERE " + " AND ".join(where)
        r = await self._one(f"SELECT COUNT(*) FROM ({sql} LIMIT ?) AS found", [*params, cap])
        return int(r[0]) if r else 0

    async def search_contacts(self, terms: Sequence[str], phone: str = "",
                              limit: int = 5) -> list[Contact]:
        """Contacts (not merged away) whose name, email, phone or identities match."""
        if not terms and not phone:
            return []
        cols = "c.id, c.display_name, c.email, c.phone, c.language, c.tags, c.fields, " \
               "c.unreachable, c.created_at"
        if self.fts == "sqlite":
            sql = (f"SELECT {cols} FROM contacts_fts f JOIN contacts c ON c.id = f.rowid "
                   "WHERE contacts_fts MATCH ? AND c.merged_into IS NULL ORDER BY c.id DESC LIMIT ?")
            params: list[Any] = [fts5_match(terms, phone), limit]
        else:
            sql = (f"SELECT {cols} FROM contact_search s JOIN contacts c ON c.id = s.contact_id "
                   "WHERE s.doc @@ to_tsquery('simple', ?) AND c.merged_into IS NULL "
                   "ORDER BY c.id DESC LIMIT ?")
            params = [pg_tsquery([fold(t) for t in terms], phone), limit]
        return [_contact(r) for r in await self._all(sql, params)]

    # list rows ------------------------------------------------------------------------
    async def conversation_rows(self, hits: Sequence[tuple[int, int | None]]
                                ) -> dict[int, RowInfo]:
        """Contact, last message (the customer's or an agent's: no internal notes, no bot
        or system lines) and the matched message's text of each (conversation id, matched
        message id or None)."""
        if not hits:
            return {}
        ids = [cid for cid, _ in hits]
        found = await self._all(
            "SELECT c.id, ct.id, ct.display_name, ct.email, ct.phone, ct.language, ct.tags, "
            "ct.fields, ct.unreachable, ct.created_at, lm.text, lm.author_kind, lm.created_at, "
            "lm.internal FROM conversations c JOIN contacts ct ON ct.id = c.contact_id "
            "LEFT JOIN messages lm ON lm.id = (SELECT m.id FROM messages m WHERE "
            "m.conversation_id = c.id AND m.internal = 0 AND m.author_kind IN ('customer', 'agent') "
            "ORDER BY m.id DESC LIMIT 1) "
            f"WHERE c.id IN ({marks(len(ids))})", ids)
        matched_ids = [mid for _, mid in hits if mid is not None]
        matched = {}
        if matched_ids:
            matched = {r[0]: r[1] for r in await self._all(
                f"SELECT conversation_id, text FROM messages WHERE id IN ({marks(len(matched_ids))})",
                matched_ids)}
        return {r[0]: RowInfo(contact=_contact(r[1:10]), last_text=(r[10] or "")[:300],
                              last_author=r[11] or "", last_at=parse_ts(r[12]),
                              last_internal=bool(r[13]), matched_text=matched.get(r[0], ""))
                for r in found}

    async def open_tags(self, limit: int = 50) -> list[tuple[str, int]]:
        """Tags on open (queued or assigned) conversations, with how many carry each."""
        counts: dict[str, int] = {}
        for (tags,) in await self._all(
                "SELECT tags FROM conversations WHERE status IN (?, ?) AND tags <> '[]'",
                (str(Status.QUEUED), str(Status.ASSIGNED))):
            for tag in loads(tags) or []:
                counts[tag] = counts.get(tag, 0) + 1
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]

    # saved views ----------------------------------------------------------------------
    async def list_saved_views(self, agent_id: int) -> list[SavedView]:
        return [SavedView(r[0], r[1], r[2], loads(r[3]) or {}, r[4]) for r in await self._all(
            "SELECT id, agent_id, name, filters, position FROM saved_views WHERE agent_id = ? "
            "ORDER BY position, id", (agent_id,))]

    async def save_view(self, agent_id: int, name: str, filters: dict[str, Any],
                        now: datetime) -> int | None:
        """A new saved view; None when the agent has one of that name already."""
        r = await self._one("SELECT COALESCE(MAX(position), 0) + 1 FROM saved_views "
                            "WHERE agent_id = ?", (agent_id,))
        if await self._one("SELECT id FROM saved_views WHERE agent_id = ? AND name = ?",
                           (agent_id, name)):
            return None
        return await self._insert(
            "INSERT INTO saved_views (agent_id, name, filters, position, created_at) "
            "VALUES (?, ?, ?, ?, ?)", (agent_id, name, dumps(filters), r[0] if r else 1, ts(now)))

    async def delete_saved_view(self, agent_id: int, view_id: int) -> bool:
        return await self._exec("DELETE FROM saved_views WHERE id = ? AND agent_id = ?",
                                (view_id, agent_id)) == 1


def _contact(r: Sequence[Any]) -> Contact:
    return Contact(id=r[0], display_name=r[1], email=r[2], phone=r[3], language=r[4],
                   tags=loads(r[5]) or [], fields=loads(r[6]) or {}, unreachable=bool(r[7]),
                   created_at=parse_ts(r[8]))
