"""The contact's `unreachable` flag, keyed by the Telegram chat the bot talks to.

A user who blocks the bot makes every further send fail with 403; remembering that on the
contact lets the outbox fail fast instead of spending retries and rate-limit budget, and
tells agents why the customer no longer gets answers.
"""

from __future__ import annotations

import logging

from router.store.base import Store, Tx

log = logging.getLogger(__name__)


async def set_unreachable(store: Store | None, channel: str, chat_id: str, value: bool) -> bool:
    """Set the flag on the contact behind `chat_id`; False when no such contact is known."""
    if store is None:
        return False

    async def unit(tx: Tx) -> bool:
        identity = await tx.find_identity(channel, chat_id)
        if identity is None:
            return False
        contact = await tx.get_contact(identity.contact_id)
        if contact is None:
            return False
        if contact.unreachable != value:
            contact.unreachable = value
            await tx.update_contact(contact)
        return True

    found = await store.write(unit)
    log.info("%s: chat %s %s%s", channel, chat_id,
             "blocked the bot" if value else "is reachable again", "" if found else " (no contact)")
    return found


async def is_unreachable(store: Store | None, channel: str, chat_id: str) -> bool:
    if store is None:
        return False

    async def unit(tx: Tx) -> bool:
        identity = await tx.find_identity(channel, chat_id)
        contact = await tx.get_contact(identity.contact_id) if identity is not None else None
        return bool(contact is not None and contact.unreachable)

    return await store.read(unit)
