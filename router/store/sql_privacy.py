"""SQL for data protection (issue 13): export, erasure and retention of contacts' data.

What counts as personal data is decided in router/engine/privacy (the `Scrubber` it passes in);
this module only knows where the rows are. Erasure anonymises conversations, messages,
events and outbox rows in place instead of deleting them, so reports keep their figures;
identities and thread keys (which *are* the contact's addresses) are deleted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from router.store import sql_rows as rows
from router.store.base import Scrubber, ts
from router.store.sql_base import SqlBase
from router.store.sql_rows import dumps, loads, marks

#: every column of every table that can hold a contact's data; a test checks that this
#: covers the schema, so a new column cannot silently escape export and erasure
PRIVACY_COLUMNS: dict[str, tuple[str, ...]] = {
    "contacts": ("id", "display_name", "email", "phone", "language", "tags", "fields",
                 "unreachable", "merged_into", "created_at"),
    "identities": ("id", "contact_id", "channel", "external_id", "username", "display_name",
                   "created_at"),
    "conversations": (*(c.strip() for c in rows.CONV_COLS.split(",")), "idle_since",
                      "idle_level"),
    "thread_keys": ("channel", "key", "conversation_id"),
    "messages": (*(c.strip() for c in rows.MSG_COLS.split(",")), "raw"),
    "inbox": ("channel", "external_id", "message_id", "received_at", "pending", "failed"),
    "outbox": ("id", "idempotency_key", "conversation_id", "message_id", "channel", "thread_key",
               "recipient", "payload", "status", "attempts", "next_attempt_at", "lease_until",
               "last_error", "external_id", "created_at", "sent_at"),
    "events": ("id", "conversation_id", "kind", "actor", "data", "created_at"),
    # issue 25: channels' own state about the contact or its conversations
    "channel_state": ("channel", "key", "value", "conversation_id", "contact_id", "owner",
                      "lease_until", "updated_at"),
}
JSON_COLUMNS = frozenset({"tags", "fields", "metadata", "attachments", "raw", "payload", "data",
                          "value"})
_BY_CONVERSATION = ("conversations", "thread_keys", "messages", "outbox", "events")


def _dicts(table: str, found: list[Sequence[Any]]) -> list[dict[str, Any]]:
    cols = PRIVACY_COLUMNS[table]
    return [{c: (loads(v) if c in JSON_COLUMNS and isinstance(v, str) else v)
             for c, v in zip(cols, r, strict=True)} for r in found]


def same_email_or_phone(email: str, phone: str) -> tuple[str, list[str]]:
    """A WHERE clause (and its parameters) for contacts with this email (any case) or
    phone; '' when both are empty. Used by privacy requests and by similar contacts."""
    where, params = [], []
    if email:
        where.append("LOWER(email) = LOWER(?)")
        params.append(email)
    if phone:
        where.append("phone = ?")
        params.append(phone)
    return " OR ".join(where), params


class SqlPrivacy(SqlBase):
    async def find_contact_ids(self, *, email: str = "", phone: str = "") -> list[int]:
        where, params = same_email_or_phone(email, phone)
        if not where:
            return []
        found = await self._all(f"SELECT id FROM contacts WHERE {where} ORDER BY id", params)
        return [int(r[0]) for r in found]

    async def contact_family(self, contact_id: int) -> list[int]:
        family, frontier = [contact_id], [contact_id]
        while frontier:  # merges chain: A into B into C
            found = await self._all(
                f"SELECT id FROM contacts WHERE merged_into IN ({marks(len(frontier))})", frontier)
            frontier = [int(r[0]) for r in found if int(r[0]) not in family]
            family.extend(frontier)
        return family

    async def _conversation_ids(self, contact_ids: Sequence[int]) -> list[int]:
        found = await self._all(f"SELECT id FROM conversations WHERE contact_id IN "
                                f"({marks(len(contact_ids))}) ORDER BY id", tuple(contact_ids))
        return [int(r[0]) for r in found]

    async def privacy_rows(self, contact_ids: Sequence[int]) -> dict[str, list[dict[str, Any]]]:
        ids = tuple(contact_ids)
        out: dict[str, list[dict[str, Any]]] = {}
        for table, key in (("contacts", "id"), ("identities", "contact_id")):
            out[table] = _dicts(table, await self._all(
                f"SELECT {', '.join(PRIVACY_COLUMNS[table])} FROM {table} "
                f"WHERE {key} IN ({marks(len(ids))}) ORDER BY id", ids))
        convs = tuple(await self._conversation_ids(ids)) or (-1,)
        for table in _BY_CONVERSATION:
            key = "id" if table == "conversations" else "conversation_id"
            order = "key" if table == "thread_keys" else "id"
            out[table] = _dicts(table, await self._all(
                f"SELECT {', '.join(PRIVACY_COLUMNS[table])} FROM {table} "
                f"WHERE {key} IN ({marks(len(convs))}) ORDER BY {order}", convs))
        msgs = tuple(m["id"] for m in out["messages"]) or (-1,)
        out["inbox"] = _dicts("inbox", await self._all(
            f"SELECT {', '.join(PRIVACY_COLUMNS['inbox'])} FROM inbox "
            f"WHERE message_id IN ({marks(len(msgs))}) ORDER BY received_at", msgs))
        out["channel_state"] = _dicts("channel_state", await self._all(
            f"SELECT {', '.join(PRIVACY_COLUMNS['channel_state'])} FROM channel_state "
            f"WHERE contact_id IN ({marks(len(ids))}) OR conversation_id IN "
            f"({marks(len(convs))}) ORDER BY channel, key", (*ids, *convs)))
        return out

    async def message_files(self, conversation_ids: Sequence[int]) -> list[dict[str, Any]]:
        """The raw payload and attachments of each message: where its files are."""
        if not conversation_ids:
            return []
        found = await self._all(
            f"SELECT raw, attachments FROM messages WHERE conversation_id IN "
            f"({marks(len(conversation_ids))})", tuple(conversation_ids))
        return [{"raw": loads(r[0]) or {}, "attachments": loads(r[1]) or []} for r in found]

    async def erase_contacts(self, contact_ids: Sequence[int], now: datetime,
                             scrub: Scrubber) -> dict[str, int]:
        ids = tuple(contact_ids)
        convs = tuple(await self._conversation_ids(ids))
        counts = {"contacts": len(ids), "conversations": len(convs)}
        if convs:
            counts |= await self._erase_conversations(convs, scrub)
        counts["identities"] = await self._exec(
            f"DELETE FROM identities WHERE contact_id IN ({marks(len(ids))})", ids)
        # issue 27: which CRM record the person is (the CRM's own copy is the admin's to erase)
        await self._exec(f"DELETE FROM crm_contacts WHERE contact_id IN ({marks(len(ids))})", ids)
        # issue 25: channels' own state about the person or their conversations
        counts["channel_state"] = await self.channel_state_erase(ids, convs)
        await self._exec(
            "UPDATE contacts SET display_name = '', email = '', phone = '', tags = '[]', "
            f"fields = ?, unreachable = 0 WHERE id IN ({marks(len(ids))})",
            (dumps({"erased_at": ts(now)}), *ids))
        await self.purge_search_index()
        return counts

    async def purge_search_index(self) -> None:
        """Make erased text unfindable in the search index's storage too. PostgreSQL keeps
        the index in the rows themselves, so nothing is left there; SQLite overrides this."""

    async def _erase_conversations(self, convs: tuple[int, ...], scrub: Scrubber) -> dict[str, int]:
        m = marks(len(convs))
        msgs = await self._all(f"SELECT id, attachments FROM messages WHERE conversation_id IN ({m})",
                               convs)
        await self._many("UPDATE messages SET text = '', author_id = CASE WHEN author_kind = "
                         "'customer' THEN '' ELSE author_id END, external_id = '', raw = NULL, "
                         "attachments = ? WHERE id = ?",
                         [(dumps(scrub.attachments(loads(a) or [])), i) for i, a in msgs])
        inbox = await self._all(f"SELECT channel, external_id FROM inbox WHERE message_id IN "
                                f"({marks(len(msgs) or 1)})", tuple(i for i, _ in msgs) or (-1,))
        # the dedupe key stays (unique, unreadable) so that a redelivery is still recognised
        await self._many("UPDATE inbox SET external_id = ? WHERE channel = ? AND external_id = ?",
                         [(_hashed(c, e), c, e) for c, e in inbox if not e.startswith("erased:")])
        keys = await self._exec(f"DELETE FROM thread_keys WHERE conversation_id IN ({m})", convs)
        outbox = await self._exec(
            "UPDATE outbox SET recipient = '', thread_key = '', payload = '{}', external_id = '', "
            "last_error = CASE WHEN status = 'pending' THEN 'contact erased' ELSE '' END, "
            "status = CASE WHEN status = 'pending' THEN 'failed' ELSE status END "
            f"WHERE conversation_id IN ({m})", convs)
        events = await self._all(f"SELECT id, kind, data FROM events WHERE conversation_id IN ({m})",
                                 convs)
        await self._many("UPDATE events SET data = ? WHERE id = ?",
                         [(dumps(scrub.event(k, loads(d) or {})), i) for i, k, d in events])
        metas = await self._all(f"SELECT id, metadata FROM conversations WHERE id IN ({m})", convs)
        await self._many("UPDATE conversations SET recipient = '', thread_key = 'erased', "
                         "metadata = ? WHERE id = ?",
                         [(dumps(scrub.metadata(loads(md) or {})), i) for i, md in metas])
        return {"messages": len(msgs), "inbox": len(inbox), "thread_keys": keys,
                "outbox": outbox, "events": len(events)}

    # retention ---------------------------------------------------------------------
    async def retention_candidates(self, before: datetime, limit: int = 200) -> list[int]:
        found = await self._all(
            "SELECT id FROM conversations WHERE updated_at < ? AND status NOT IN "
            "('queued', 'assigned') ORDER BY id LIMIT ?", (ts(before), limit))
        return [int(r[0]) for r in found]

    async def delete_conversations(self, ids: Sequence[int]) -> int:
        if not ids:
            return 0
        m = marks(len(ids))
        await self._exec(f"DELETE FROM inbox WHERE message_id IN (SELECT id FROM messages "
                         f"WHERE conversation_id IN ({m}))", tuple(ids))
        await self.channel_state_erase((), tuple(ids))  # issue 25: channels' own state
        # messages, events, thread keys and outbox rows go with them (ON DELETE CASCADE)
        return await self._exec(f"DELETE FROM conversations WHERE id IN ({m})", tuple(ids))

    async def delete_orphan_contacts(self, before: datetime, limit: int = 200) -> int:
        removed = await self._exec(
            "DELETE FROM contacts WHERE id IN (SELECT id FROM contacts c WHERE c.created_at < ? "
            "AND NOT EXISTS (SELECT 1 FROM conversations v WHERE v.contact_id = c.id) "
            "ORDER BY id LIMIT ?)", (ts(before), limit))
        if removed:  # issue 25: channels' own state about the contacts just deleted
            await self._exec("DELETE FROM channel_state WHERE contact_id IS NOT NULL AND "
                             "NOT EXISTS (SELECT 1 FROM contacts c WHERE c.id = contact_id)")
        return removed

    async def delete_inbox_before(self, before: datetime, limit: int = 1000) -> int:
        return await self._exec(
            "DELETE FROM inbox WHERE (channel, external_id) IN (SELECT channel, external_id "
            "FROM inbox WHERE received_at < ? AND pending IS NULL ORDER BY received_at LIMIT ?)",
            (ts(before), limit))


def _hashed(channel: str, external_id: str) -> str:
    return "erased:" + hashlib.sha256(f"{channel}\x1f{external_id}".encode()).hexdigest()
