"""Reading what a CRM sync needs from the store: the customer and the resolved conversation."""

from __future__ import annotations

from router.domain.model import AuthorKind, Contact, Conversation, Direction
from router.engine.integrations.crm.mapping import Record
from router.store.base import Tx

SUBJECT_CHARS = 80


def erased(contact: Contact) -> bool:
    return "erased_at" in contact.fields


async def current_contact(tx: Tx, contact_id: int) -> Contact | None:
    """The contact, or the one it was merged into; None when gone or erased."""
    for _ in range(8):  # merges chain only a few deep; a cycle must not loop
        target = await tx.contact_merged_into(contact_id)
        if target is None:
            break
        contact_id = target
    contact = await tx.get_contact(contact_id)
    return None if contact is None or erased(contact) else contact


async def load_record(tx: Tx, conversation_id: int, *, link_template: str) -> Record | None:
    conv = await tx.get_conversation(conversation_id)
    if conv is None:
        return None
    contact = await current_contact(tx, conv.contact_id)
    if contact is None:
        return None
    messages = await tx.list_messages(conversation_id, limit=200)
    first = next((m.text for m in messages
                  if m.direction == Direction.INBOUND and m.author_kind == AuthorKind.CUSTOMER
                  and m.text.strip()), "")
    link = link_template.replace("{id}", str(conv.id)) if link_template else ""
    subject = _subject(conv, first)
    return Record(contact=contact, conversation=conv, link=link, subject=subject,
                  summary=_summary(conv, subject, link))


def _subject(conv: Conversation, first: str) -> str:
    text = " ".join(first.split())
    if len(text) > SUBJECT_CHARS:
        text = text[:SUBJECT_CHARS - 1].rstrip() + "…"
    head = f"{conv.channel.capitalize()} conversation {conv.id}"
    return f"{head}: {text}" if text else head


def _summary(conv: Conversation, subject: str, link: str) -> str:
    lines = [subject]
    details = [f"queue {conv.queue}" if conv.queue else "",
               f"agent {conv.assignee}" if conv.assignee else "handled by the bot",
               f"{conv.message_count} messages",
               f"tags {', '.join(conv.tags)}" if conv.tags else ""]
    lines.append("Resolved " + (conv.resolved_at.strftime("%Y-%m-%d %H:%M UTC")
                                if conv.resolved_at else "") + "; "
                 + ", ".join(d for d in details if d))
    if link:
        lines.append(f"Transcript: {link}")
    return "\n".join(lines)
