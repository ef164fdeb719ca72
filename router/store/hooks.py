"""Hooks that run inside a unit of work when it writes an event, a message or a contact.

A store whose `hooks` is set hands them to every write transaction (issue 27); the SQL
backends call them right after the row is written, in the same transaction. Outgoing
webhooks (router/engine/integrations/webhooks/hooks.py) write their outbox rows this way, so a
delivery commits with the change it reports: a crash loses neither, and a unit that runs
again (a SQLite batch after a failed neighbour, a PostgreSQL deadlock) rolls both back
together. Like units, hooks do store work only, and cost nothing when nobody listens.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from router.domain.model import Contact, Event, Message
    from router.store.base import Tx


class TxHooks(Protocol):
    async def event(self, tx: Tx, event: Event) -> None:
        """After `tx.insert_event` (on PostgreSQL the row itself follows at the unit's end)."""

    async def message(self, tx: Tx, message: Message, message_id: int) -> None:
        """After `tx.insert_message`."""

    async def contact(self, tx: Tx, contact: Contact, contact_id: int, now: datetime) -> None:
        """After `tx.create_contact`."""

    def committed(self, tx: Tx) -> None:
        """After `tx` committed (on SQLite a batch of units shares one `tx`): where what
        the hooks wrote may be announced, e.g. the outbox dispatcher woken."""
