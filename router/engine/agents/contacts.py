"""The contact view (identities on every channel, all conversations), editing and merging.

A merge moves the source's identities and conversations to the target inside one unit
of work and leaves the source row marked `merged_into`: nothing is copied or deleted,
so every message and event keeps its conversation and the history stays intact. The
preview (issue 24) shows what the target will look like, computed by the same code.
An agent's notes on a contact live in its `fields` under `notes` (export and erasure
cover them with the rest of the contact).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from router.domain.agent_errors import ActionRejected, ConflictError, NotFoundError
from router.domain.model import Agent, Contact, Conversation, Event, Identity
from router.engine import audit
from router.store.base import ConversationFilter, Tx

NOTES = "notes"  # the key of an agent's notes in a contact's fields
EDITABLE = ("display_name", "email", "phone", NOTES)


@dataclass(slots=True)
class ContactDetail:
    contact: Contact
    identities: list[Identity]
    conversations: list[Conversation]
    merged_into: int | None = None
    similar: list[Contact] = field(default_factory=list)  # same email or phone


async def contact_detail(tx: Tx, contact_id: int, limit: int = 200) -> ContactDetail:
    contact = await tx.get_contact(contact_id)
    if contact is None:
        raise NotFoundError(f"contact {contact_id} does not exist")
    conversations = await tx.list_conversations(ConversationFilter(contact_id=contact_id), limit)
    similar = []
    for other in await tx.similar_contacts(email=contact.email, phone=contact.phone, limit=11):
        found = await tx.get_contact(other) if other != contact_id else None
        if found is not None:
            similar.append(found)
    return ContactDetail(contact, await tx.list_identities(contact_id), conversations,
                         await tx.contact_merged_into(contact_id), similar[:10])


async def edit(tx: Tx, contact_id: int, changes: dict[str, str], actor: Agent, now: datetime, *,
               address: str = "") -> list[str]:
    """Apply `changes` (keys of EDITABLE) to a contact; the names of the fields that changed.
    A contact merged into another is edited there (it says which)."""
    contact = await _live(tx, contact_id)
    changed = []
    for name, value in changes.items():
        if name == NOTES:
            if value != contact.fields.get(NOTES, ""):
                contact.fields = {**contact.fields, NOTES: value}
                if not value:
                    del contact.fields[NOTES]
                changed.append(name)
        elif value != getattr(contact, name):
            setattr(contact, name, value)
            changed.append(name)
    if changed:
        await tx.update_contact(contact)
        await tx.insert_event(Event(0, "contact_changed", now, None, f"agent:{actor.name}",
                                    {"contact_id": contact_id, "fields": changed}))
        await audit.record(tx, audit.by_agent(actor, address), "contact_changed",
                           f"contact:{contact_id}", now=now, detail={"fields": changed})
    return changed


async def _live(tx: Tx, contact_id: int) -> Contact:
    contact = await tx.get_contact(contact_id)
    if contact is None:
        raise NotFoundError(f"contact {contact_id} does not exist")
    into = await tx.contact_merged_into(contact_id)
    if into is not None:
        raise ConflictError(f"contact {contact_id} was merged into contact {into}; "
                            f"use contact {into}")
    return contact


def merged_profile(source: Contact, target: Contact) -> Contact:
    """The target as a merge leaves it: its own values, blanks filled from the source."""
    return Contact(
        target.id, display_name=target.display_name or source.display_name,
        email=target.email or source.email, phone=target.phone or source.phone,
        language=target.language or source.language,
        tags=list(dict.fromkeys([*target.tags, *source.tags])),
        fields={**source.fields, **target.fields}, unreachable=target.unreachable,
        created_at=target.created_at)


async def preview(tx: Tx, source_id: int, target_id: int) -> dict[str, Any]:
    """What merging `source_id` into `target_id` would do, changing nothing."""
    source, target = await _pair(tx, source_id, target_id)
    moved = await tx.list_conversations(ConversationFilter(contact_id=source_id), 10_000)
    return {"source": source, "target": target, "result": merged_profile(source, target),
            "identities": await tx.list_identities(source_id), "conversations": moved}


async def _pair(tx: Tx, source_id: int, target_id: int) -> tuple[Contact, Contact]:
    if source_id == target_id:
        raise ActionRejected("a contact cannot be merged into itself")
    return await _live(tx, source_id), await _live(tx, target_id)


async def merge(tx: Tx, source_id: int, target_id: int, actor: Agent | str, now: datetime, *,
                address: str = "") -> Contact:
    """Merge `source_id` into `target_id`; the target keeps its profile, fills blanks.
    `actor` is the agent, or "system" for a merge nobody asked for at the desk (a web chat
    visitor signing in as a known customer, router/engine/identities.py)."""
    source, target = await _pair(tx, source_id, target_id)
    moved = await tx.list_conversations(ConversationFilter(contact_id=source_id), 10_000)
    await tx.merge_contacts(source_id, target_id)
    target = merged_profile(source, target)
    await tx.update_contact(target)
    by = audit.by_agent(actor, address) if isinstance(actor, Agent) else audit.Actor(actor, address)
    data = {"from": source_id, "into": target_id}
    await tx.insert_event(Event(0, "contact_merged", now, None, by.name, data))
    for conv in moved:
        await tx.insert_event(Event(0, "contact_merged", now, conv.id, by.name, data))
    await audit.record(tx, by, "contacts_merged", f"contact:{source_id}", now=now,
                       detail={"into": target_id, "conversations": len(moved)})
    return target
