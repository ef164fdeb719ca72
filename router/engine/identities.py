"""Who a channel visitor is, when they say so or a trusted site does (issue 24).

The web chat knows a visitor by a random id (the identity `webchat`/`v_...`). Two things
can tell us more, with different weight:

- the visitor's own word (the pre-chat form: a name and an email): it fills in their own
  contact and nothing else. Typing someone's email must not join their history, so a
  contact with the same email is only *suggested* to agents (`similar` in the contact
  view), and an agent merges them after a look at the preview;
- the embedding site's signature (a customer signed in there): the site vouches for a
  user id, and for the email and name it sends. The visitor joins the contact that user
  id is known by (identity `webchat`/`user:<id>`), else the one contact with that email,
  else their own contact becomes that user's. What the visitor wrote before signing in
  comes along: their anonymous contact is merged into the known one (actor `system`, in
  the audit log). A visitor already known as *another* user is never moved; the caller
  starts a new visitor instead (a shared computer).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from router.domain.model import Contact, Identity
from router.engine.agents.contacts import merge
from router.store.base import Tx

USER = "user:"  # external ids of site users, beside the random visitor ids


@dataclass(frozen=True, slots=True)
class SiteUser:
    """What a signed identity vouches for."""

    id: str
    email: str = ""
    name: str = ""


async def user_of(tx: Tx, channel: str, visitor_id: str) -> str | None:
    """The site user id the visitor's contact is known by, or None (anonymous)."""
    identity = await tx.find_identity(channel, visitor_id)
    if identity is None:
        return None
    for other in await tx.list_identities(identity.contact_id):
        if other.channel == channel and other.external_id.startswith(USER):
            return other.external_id.removeprefix(USER)
    return None


async def visitor_said(tx: Tx, channel: str, visitor_id: str, *, name: str, email: str,
                       now: datetime) -> Contact:
    """The pre-chat form: the visitor's own contact gets the name and email they typed
    (a contact a site vouches for only gets its blanks filled)."""
    contact = await tx.find_contact(channel, visitor_id)
    if contact is None:
        contact = Contact(0, display_name=name, email=email)
        contact.id = await tx.create_contact(contact, now)
        await tx.create_identity(Identity(0, contact.id, channel, visitor_id), now)
        return contact
    vouched = await user_of(tx, channel, visitor_id) is not None
    new_name = (contact.display_name if vouched and contact.display_name else name) or \
        contact.display_name
    new_email = (contact.email if vouched and contact.email else email) or contact.email
    if (new_name, new_email) != (contact.display_name, contact.email):
        contact.display_name, contact.email = new_name, new_email
        await tx.update_contact(contact)
    return contact


async def site_vouches(tx: Tx, channel: str, visitor_id: str, user: SiteUser, now: datetime,
                       *, address: str = "") -> Contact | None:
    """Join the visitor to the contact of a signed-in site user (see the module doc).
    None when the visitor is already known as another user: give them a new visitor id."""
    key = USER + user.id
    known = await user_of(tx, channel, visitor_id)
    if known is not None and known != user.id:
        return None
    visitor = await tx.find_identity(channel, visitor_id)
    owner = await tx.find_identity(channel, key)
    if owner is not None:
        target = owner.contact_id
    else:
        target = await _by_email(tx, channel, user.email)
        if target is None:
            target = visitor.contact_id if visitor is not None else \
                await tx.create_contact(Contact(0), now)
        await tx.create_identity(Identity(0, target, channel, key, display_name=user.name), now)
    if visitor is None:
        await tx.create_identity(Identity(0, target, channel, visitor_id), now)
    elif visitor.contact_id != target:
        await merge(tx, visitor.contact_id, target, "system", now, address=address)
    contact = await tx.get_contact(target)
    assert contact is not None
    if (not contact.display_name and user.name) or (not contact.email and user.email):
        contact.display_name = contact.display_name or user.name
        contact.email = contact.email or user.email
        await tx.update_contact(contact)
    return contact


async def _by_email(tx: Tx, channel: str, email: str) -> int | None:
    """The one live contact with this email that no other site user holds, or None."""
    found = await tx.similar_contacts(email=email, limit=2) if email else []
    if len(found) != 1:
        return None  # none, or ambiguous: better a new contact than the wrong one
    for identity in await tx.list_identities(found[0]):
        if identity.channel == channel and identity.external_id.startswith(USER):
            return None
    return found[0]
