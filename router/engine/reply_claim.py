"""A processing unit leases its own reply, so it leaves when the unit commits (issue 28).

Before, a reply's row was committed by the processing unit and then leased by the outbox
dispatcher in a round of its own: one more unit of work between the customer's message
and our answer (on SQLite a commit, on PostgreSQL a statement with its WAL flush), run
once per reply below a few hundred messages a second, and on every instance of several.
Now the processing unit reserves one of the dispatcher's send slots, leases the reply in
its own transaction when a lease round would lease it (`Tx.outbox_claim`), and hands it
to the dispatcher after the commit (`Dispatcher.hand`). A reply that is not first in its
thread's line, goes to an address that refuses us, or finds every slot taken is left to a
lease round, as every row was before; so are rows written by any other unit.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from router.domain.model import Conversation, OutboxRow
from router.ports.channel_host import UNREACHABLE
from router.store.base import Tx

#: the lease of a reply leased in warm-up (`ReplyClaim(None)`), which is rolled back
WARM_UP_LEASE = 60.0


class SendSlots(Protocol):
    """The part of the outbox dispatcher a processing unit uses (router/engine/outbox.py)."""

    lease: float  # seconds a leased row is ours before another sender may take it

    def reserve(self) -> bool: ...

    def hand(self, rows: list[OutboxRow], reserved: bool) -> None: ...


class ReplyClaim:
    """One message's claim on its reply: the send slot it reserved, kept over reruns of
    its unit (a SQLite batch after a failed neighbour, a PostgreSQL serialisation retry),
    and given back, or filled, once the unit has committed or failed."""

    def __init__(self, slots: SendSlots | None) -> None:
        """`slots` None: warm-up, whose unit is rolled back: the statement runs on the
        connection, nothing is reserved or sent."""
        self.slots = slots
        self.reserved = False

    async def lease(self, tx: Tx, conv: Conversation, now: datetime) -> list[OutboxRow]:
        """Inside the unit, after it wrote its replies at `now`: the reply leased, or []."""
        if not conv.thread_key:
            return []  # rows without a thread are ordered among the whole channel's
        if self.slots is not None and not self.reserved:
            self.reserved = self.slots.reserve()
            if not self.reserved:
                return []
        seconds = self.slots.lease if self.slots is not None else WARM_UP_LEASE
        return await tx.outbox_claim(conv.id, conv.channel, conv.thread_key, now,
                                     now + timedelta(seconds=seconds),
                                     UNREACHABLE + conv.thread_key)

    def committed(self, rows: list[OutboxRow]) -> None:
        """The unit committed with `rows` leased: they go out now, in the reserved slot."""
        if self.slots is not None and (self.reserved or rows):
            self.slots.hand(rows, self.reserved)
        self.reserved = False

    def failed(self) -> None:
        """The unit did not commit: its lease was rolled back with it; the slot is free."""
        self.committed([])
