"""The contact view (identities on every channel, all conversations) and merging.

A merge moves the source's identities and conversations to the target inside one unit
of work and leaves the source row marked `merged_into`: nothing is copied or deleted,
so every message and event keeps its conversation and the history stays intact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from router import audit
from router.agents.errors import ActionRejected, NotFoundError
from router.model import Agent, Contact, Conversation, Event, Identity
from router.store.base import ConversationFilter, Tx


@dataclass(slots=True)
class ContactDetail:
    contact: Contact
    identities: list[Identity]
    conversations: list[Conversation]


async def contact_detail(tx: Tx, contact_id: int, limit: int = 200) -> ContactDetail:
    contact = await tx.get_contact(contact_id)
    if contact is None:
        raise NotFoundError(f"contact {contact_id} does not exist")
    conversations = await tx.list_conversations(ConversationFilter(contact_id=contact_id), limit)
    return ContactDetail(contact, await tx.list_identities(contact_id), conversations)


async def merge(tx: Tx, source_id: int, target_id: int, actor: Agent, now: datetime, *,
                address: str = "") -> Contact:
    """Merge `source_id` into `target_id`; the target keeps its profile, fills blanks."""
    if source_id == target_id:
        raise ActionRejected("a contact cannot be merged into itself")
    source, target = await tx.get_contact(source_id), await tx.get_contact(target_id)
    if source is None or target is None:
        raise NotFoundError(f"contact {source_id if source is None else target_id} does not exist")
    moved = await tx.list_conversations(ConversationFilter(contact_id=source_id), 10_000)
    await tx.merge_contacts(source_id, target_id)
    target.display_name = target.display_name or source.display_name
    target.email = target.email or source.email
    target.phone = target.phone or source.phone
    target.language = target.language or source.language
    target.tags = list(dict.fromkeys([*target.tags, *source.tags]))
    target.fields = {**source.fields, **target.fields}
    await tx.update_contact(target)
    data = {"from": source_id, "into": target_id}
    await tx.insert_event(Event(0, "contact_merged", now, None, f"agent:{actor.name}", data))
    for conv in moved:
        await tx.insert_event(Event(0, "contact_merged", now, conv.id, f"agent:{actor.name}", data))
    await audit.record(tx, audit.by_agent(actor, address), "contacts_merged",
                       f"contact:{source_id}", now=now,
                       detail={"into": target_id, "conversations": len(moved)})
    return target
