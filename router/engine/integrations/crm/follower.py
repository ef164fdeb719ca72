"""Resolutions to outbox rows: the CRM sync runs after the fact, never in a message's unit.

A follower reads the events table after each CRM's cursor (`crm_cursors`, kept in the
store) and, for every conversation that became resolved, adds one outbox row per CRM in
the same unit of work that moves the cursor. The cursor row is locked until that commit
(PostgreSQL; SQLite has one writer), so instances take turns and a resolution is queued
once. A CRM's cursor starts at the newest event when it is first configured: history
is not replayed into a CRM.

Rows of one customer share a lane (the outbox thread key `lane:N`, N from their email or
phone): the outbox sends a lane's rows in order, one at a time, which is the per-customer
claim that keeps three concurrent conversations from creating three contacts. A CRM has
`concurrency` lanes, so its rows never hold more outbox slots than that.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from router.domain.model import Event, OutboxRow, OutboxStatus
from router.engine.integrations.crm import mapping
from router.engine.integrations.crm.adapter import CrmAdapter
from router.engine.integrations.crm.record import current_contact
from router.ports.notify import Notifier
from router.store.base import Store, Tx, utcnow

log = logging.getLogger(__name__)

BATCH = 200
KINDS = ("status_changed",)


def lane(key: str, lanes: int) -> str:
    digest = hashlib.sha256(key.casefold().encode()).digest()
    return f"lane:{int.from_bytes(digest[:4], 'big') % lanes}"


class Follower:
    def __init__(self, store: Store, adapters: Sequence[CrmAdapter], *,
                 notifier: Notifier | None, wake_outbox: Callable[[], None],
                 poll_interval: float = 5.0) -> None:
        self.store = store
        self.adapters = list(adapters)
        self.notifier = notifier
        self.wake_outbox = wake_outbox
        self.poll_interval = poll_interval
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.queued = 0  # rows added since start (tests and /status read it)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="crm-follower")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        while not self._stopping.is_set():
            generation = self.notifier.generation if self.notifier else 0
            try:
                progressed = await self.catch_up()
            except Exception:
                log.exception("crm: following resolutions failed; retrying")
                progressed = False
            if progressed or self._stopping.is_set():
                continue
            await self._idle(generation)

    async def _idle(self, generation: int) -> None:
        waits = [asyncio.ensure_future(self._stopping.wait())]
        if self.notifier is not None:
            waits.append(asyncio.ensure_future(
                self.notifier.wait_past(generation, self.poll_interval)))
        _, pending = await asyncio.wait(waits, timeout=self.poll_interval,
                                        return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def catch_up(self) -> bool:
        """One batch per CRM; True if any events were read (more may follow)."""
        progressed = False
        for adapter in self.adapters:
            read, queued = await self.store.write(self._unit(adapter), background=True)
            progressed = progressed or read > 0
            if queued:
                self.queued += queued
                self.wake_outbox()
        return progressed

    def _unit(self, adapter: CrmAdapter) -> Callable[[Tx], Awaitable[tuple[int, int]]]:
        async def unit(tx: Tx) -> tuple[int, int]:
            # the first time, from the newest event: history is not synced
            cursor = await tx.crm_cursor(adapter.vendor, await tx.last_event_id())
            # `moved` is past the other kinds of events too (up to the newest one), so the
            # next read starts near the end of the table, not at the last status change
            events, moved = await tx.follow_events(cursor, KINDS, BATCH)
            queued = 0
            for event in events:
                if event.data.get("to") == "resolved" and event.conversation_id is not None:
                    queued += await _enqueue(tx, adapter, event)
            if moved > cursor:
                await tx.set_crm_cursor(adapter.vendor, moved)
            return len(events), queued
        return unit


async def _enqueue(tx: Tx, adapter: CrmAdapter, event: Event) -> int:
    conv = await tx.get_conversation(event.conversation_id or 0)
    contact = await current_contact(tx, conv.contact_id) if conv else None
    if conv is None or contact is None:
        return 0
    lookup = mapping.lookup(adapter.contact_fields, contact)
    if not lookup:  # nothing to find the customer by (an anonymous web chat visitor)
        log.debug("crm: conversation %s not synced to %s: no email or phone", conv.id,
                  adapter.vendor)
        return 0
    now = utcnow()
    await tx.outbox_add(OutboxRow(
        0, f"{adapter.name}:{event.id}", adapter.name,
        lane(next(iter(lookup.values())), adapter.lanes), f"contact:{contact.id}",
        {"metadata": {"crm": adapter.vendor, "event_id": event.id, "contact_id": contact.id}},
        OutboxStatus.PENDING, 0, now, now, conversation_id=conv.id))
    return 1
