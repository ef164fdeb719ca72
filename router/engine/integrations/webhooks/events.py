"""What a change in the store becomes on the wire: webhook event names and their `data`.

Pure functions of the rows the store is writing (an `Event`, a `Message`, a `Contact`),
so the JSON shapes are defined in one place and documented in docs/integrations.md.
Conversation events carry ids, not the contact's profile: a receiver that wants the
profile subscribes to `contact.created` (or asks the API); personal data goes out only
where it is the point of the event (a message's text, a new contact, a CSAT comment).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from router.domain.model import Contact, Direction, Event, Message
from router.domain.timestamps import ts

#: events table kinds that may become a webhook event (others are skipped at once)
KINDS = frozenset({"conversation_opened", "assigned", "transferred", "handoff",
                   "status_changed", "contact_merged", "csat", "sla_breached"})


def from_event(event: Event) -> tuple[str, dict[str, Any]] | None:
    """(webhook event, its specific data) for an events-table row, or None."""
    d = event.data or {}
    kind = event.kind
    if kind == "conversation_opened":
        return "conversation.opened", {}
    if kind == "assigned":
        return "conversation.assigned", {"agent": d.get("agent", ""), "queue": d.get("queue", ""),
                                         "reason": d.get("reason", "")}
    if kind == "transferred":  # to another agent: an assignment; to a queue: not
        to, before = d.get("to_agent") or "", d.get("from_agent") or ""
        if not to or to == before:
            return None
        return "conversation.assigned", {"agent": to, "queue": d.get("to_queue", ""),
                                         "reason": "transfer", "previous_agent": before}
    if kind == "handoff":
        return "conversation.handed_off", {"queue": d.get("queue", ""),
                                           "reason": d.get("reason", "")}
    if kind == "status_changed":
        if d.get("to") != "resolved":
            return None
        return "conversation.resolved", {"previous_status": d.get("from", ""),
                                         "reason": d.get("reason", "")}
    if kind == "contact_merged":
        if event.conversation_id is not None:
            return None  # the merge's per-conversation records: one delivery per merge
        return "contact.merged", {"merged_contact": {"id": d.get("from")}}
    if kind == "csat":
        return "csat.received", {"score": d.get("score"), "comment": d.get("comment", ""),
                                 "via": d.get("via", "")}
    if kind == "sla_breached":
        return "sla.breached", {"clock": d.get("kind", ""), "due": d.get("due"),
                                "queue": d.get("queue", ""), "assignee": d.get("assignee", "")}
    return None


def merged_into(event: Event) -> int | None:
    """The contact a `contact_merged` event is about (the one that remains)."""
    into = (event.data or {}).get("into")
    return int(into) if isinstance(into, int) else None


def message_event(message: Message) -> str | None:
    """`message.inbound` / `message.outbound` for a message the customer wrote or gets;
    internal notes are nobody's business outside."""
    if message.internal:
        return None
    return "message.inbound" if message.direction == Direction.INBOUND else "message.outbound"


def message_data(message: Message, message_id: int) -> dict[str, Any]:
    return {"message": {
        "id": message_id, "direction": str(message.direction), "text": message.text,
        "author": {"kind": str(message.author_kind), "id": message.author_id},
        "language": message.language, "created_at": ts(message.created_at),
        "attachments": [{k: a[k] for k in ("kind", "name", "mime", "size") if k in a}
                        for a in message.attachments if isinstance(a, dict)]}}


def contact_data(contact: Contact, contact_id: int) -> dict[str, Any]:
    return {"id": contact_id, "name": contact.display_name, "email": contact.email,
            "phone": contact.phone, "language": contact.language}


def envelope(key: str, event: str, at: datetime, data: dict[str, Any]) -> dict[str, Any]:
    """The delivered JSON: `id` is the idempotency key (also the `Idempotency-Key` header)."""
    return {"id": key, "event": event, "created_at": ts(at), "data": data}
