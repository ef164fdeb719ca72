"""Domain records as the JSON the API returns (and the OpenAPI document describes)."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from router.domain.model import WANTS_HUMAN_KEY, Agent, Contact, Conversation, Event, Identity, Message
from router.store.base import ts


def iso(value: datetime | None) -> str | None:
    return ts(value)


def conversation(c: Conversation) -> dict[str, Any]:
    return {
        "id": c.id, "contact_id": c.contact_id, "channel": c.channel, "status": str(c.status),
        "queue": c.queue, "priority": c.priority, "tags": list(c.tags), "assignee": c.assignee,
        "language": c.language, "message_count": c.message_count,
        "created_at": iso(c.created_at), "updated_at": iso(c.updated_at),
        "queued_at": iso(c.queued_at), "assigned_at": iso(c.assigned_at),
        "first_response_at": iso(c.first_response_at), "resolved_at": iso(c.resolved_at),
        "last_customer_at": iso(c.last_customer_at), "snoozed_until": iso(c.snoozed_until),
        # when the customer last asked for a person: the console highlights it, so the
        # agent who has the conversation sees the request
        "wants_human_at": c.metadata.get(WANTS_HUMAN_KEY) or None,
        # the date an agent means to follow up by (issue 24, router/engine/agents/triage.py)
        "follow_up_at": c.metadata.get("follow_up_at") or None,
        "sla": {
            "first_response_due": iso(c.first_response_due),
            "resolution_due": iso(c.resolution_due),
            "paused_at": iso(c.sla_paused_at),
            "first_response_breached_at": iso(c.sla_first_breached_at),
            "resolution_breached_at": iso(c.sla_resolution_breached_at),
        },
    }


def message(m: Message) -> dict[str, Any]:
    return {"id": m.id, "direction": str(m.direction), "author_kind": str(m.author_kind),
            "author_id": m.author_id, "text": m.text, "internal": m.internal,
            "attachments": m.attachments, "created_at": iso(m.created_at),
            "edited_at": iso(m.edited_at)}


def event(e: Event) -> dict[str, Any]:
    return {"id": e.id, "kind": e.kind, "conversation_id": e.conversation_id, "actor": e.actor,
            "data": e.data, "created_at": iso(e.created_at)}


def agent(a: Agent, load: int | None = None) -> dict[str, Any]:
    out = {"name": a.name, "display_name": a.display_name, "email": a.email,
           "role": str(a.role), "languages": a.languages, "capacity": a.capacity,
           "online": a.online, "disabled": a.disabled, "source": a.source}
    if load is not None:
        out["load"] = load
    return out


def contact(c: Contact, identities: list[Identity]) -> dict[str, Any]:
    return {"id": c.id, "display_name": c.display_name, "email": c.email, "phone": c.phone,
            "language": c.language, "tags": c.tags, "fields": c.fields,
            "created_at": iso(c.created_at),
            "identities": [{"channel": i.channel, "external_id": i.external_id,
                            "username": i.username, "display_name": i.display_name}
                           for i in identities]}


def encode_cursor(key: tuple[Any, ...]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[Any, ...]:
    """Raises ValueError on anything that is not a cursor we made."""
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    value = json.loads(raw)
    if not isinstance(value, list) or not value or not all(
            isinstance(v, str | int) and not isinstance(v, bool) for v in value):
        raise ValueError("bad cursor")
    return tuple(value)
