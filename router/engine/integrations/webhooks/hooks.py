"""The store hooks that turn changes into webhook deliveries, in the same unit of work.

`Webhooks` is a `router.store.hooks.TxHooks`: when a unit writes an event, a message or a
contact that an endpoint subscribed to, it adds one outbox row per endpoint (channel
`webhook`) in that same transaction. The row holds the endpoint's name and the JSON to
send, never the secret: router/engine/webhook_channel.py signs each attempt with the secret of
the running config. The row's idempotency key is the delivery's `id`, so the outbox's
retries (backoff, Retry-After, dead letters, `outbox retry`) and a resend after a crash
all carry the same key: a receiver that remembers keys sees each event once.

Order: every row of one contact and endpoint shares a thread key
(`contact:<id>:<endpoint>`), and the outbox sends a thread's rows one after the other, so
a receiver gets `contact.created`, `conversation.opened`, `message.inbound` ... in the
order they happened. Erasure (`forget_contact`) empties a contact's rows by that key.

Nothing about an erased contact is made: a conversation whose contact was erased is
skipped, and erasure itself sends only `contact.erased` (ids).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from router.domain.model import Contact, Event, Message, OutboxRow, OutboxStatus
from router.engine.effects import WEBHOOK_CHANNEL, new_key
from router.engine.integrations.webhooks import events
from router.engine.integrations.webhooks.settings import EVENTS, WebhookEndpoint
from router.store.base import Store, Tx

log = logging.getLogger(__name__)


_ADDED = "_webhook_rows_added"  # on a transaction: rows added, for `committed`


def thread_key(contact_id: int, endpoint: str) -> str:
    return f"contact:{contact_id}:{endpoint}"


class Webhooks:
    def __init__(self, endpoints: Mapping[str, WebhookEndpoint], *,
                 wake: Callable[[], None] | None = None) -> None:
        """`wake` (the outbox dispatcher's) is called once rows added have committed."""
        self.endpoints = {name: e for name, e in endpoints.items() if e.enabled}
        self.wanted: dict[str, tuple[str, ...]] = {
            event: tuple(name for name, e in self.endpoints.items() if e.wants(event))
            for event in EVENTS}
        self.wake = wake

    # TxHooks ----------------------------------------------------------------------
    async def event(self, tx: Tx, event: Event) -> None:
        if event.kind not in events.KINDS:
            return
        found = events.from_event(event)
        if found is None or not self.wanted[found[0]]:
            return
        name, specific = found
        if event.conversation_id is None:  # contact.merged
            contact_id = events.merged_into(event)
            if contact_id is None or await tx.contact_erased(contact_id):
                return
            data = {"contact": {"id": contact_id}, "actor": event.actor, **specific}
        else:
            about = await self._conversation(tx, event.conversation_id)
            if about is None:
                return
            contact_id, data = about
            data |= {"actor": event.actor, **specific}
        await self._add(tx, name, event.created_at, contact_id, event.conversation_id, data)

    async def message(self, tx: Tx, message: Message, message_id: int) -> None:
        name = events.message_event(message)
        if name is None or not self.wanted[name]:
            return
        about = await self._conversation(tx, message.conversation_id)
        if about is None:
            return
        contact_id, data = about
        await self._add(tx, name, message.created_at, contact_id, message.conversation_id,
                        data | events.message_data(message, message_id))

    async def contact(self, tx: Tx, contact: Contact, contact_id: int, now: datetime) -> None:
        if self.wanted["contact.created"]:
            await self._add(tx, "contact.created", now, contact_id, None,
                            {"contact": events.contact_data(contact, contact_id)})

    # erasure ----------------------------------------------------------------------
    async def erased(self, tx: Tx, contact_ids: Sequence[int], now: datetime) -> None:
        """`contact.erased`: the contact's id and the ids merged into it, nothing else."""
        if not self.wanted["contact.erased"]:
            return
        first = contact_ids[0]
        data = {"contact": {"id": first}, "contact_ids": list(contact_ids)}
        # its own thread key: the contact's thread was just emptied (and stays so)
        await self._add(tx, "contact.erased", now, first, None, data, thread=f"erased:{first}")

    # ------------------------------------------------------------------------------
    async def _conversation(self, tx: Tx, conversation_id: int) -> tuple[int, dict[str, Any]] | None:
        subject = await tx.webhook_subject(conversation_id)
        if subject is None or subject[2]:  # gone, or its contact was erased: nothing is sent
            return None
        contact_id, channel, _ = subject
        return contact_id, {"conversation": {"id": conversation_id, "channel": channel},
                            "contact": {"id": contact_id}}

    async def _add(self, tx: Tx, name: str, at: datetime, contact_id: int,
                   conversation_id: int | None, data: dict[str, Any], *,
                   thread: str = "") -> None:
        for endpoint in self.wanted[name]:
            key = new_key()
            await tx.outbox_add(OutboxRow(
                0, key, WEBHOOK_CHANNEL,
                f"{thread}:{endpoint}" if thread else thread_key(contact_id, endpoint),
                self.endpoints[endpoint].url,
                {"metadata": {"endpoint": endpoint, "event": name,
                              "json": events.envelope(key, name, at, data)}},
                OutboxStatus.PENDING, 0, at, at, conversation_id=conversation_id))
            setattr(tx, _ADDED, getattr(tx, _ADDED, 0) + 1)

    def committed(self, tx: Tx) -> None:
        """Rows this transaction added are visible now: the dispatcher may lease them
        (without this, a unit that wakes nobody, such as a CSAT rating or an erasure,
        would wait for the dispatcher's next poll)."""
        if getattr(tx, _ADDED, 0):
            setattr(tx, _ADDED, 0)
            if self.wake is not None:
                self.wake()


async def forget_contact(tx: Tx, contact_ids: Sequence[int], now: datetime, *,
                         announce: bool = True) -> int:
    """In erasure's unit of work: the contact's webhook deliveries not yet sent never will
    be (they fail as "contact erased"), those sent keep only their bookkeeping. Rows tied
    to one of its conversations are emptied by the erasure itself
    (router/store/sql_privacy.py); this takes the rest (`contact.created`,
    `contact.merged`). With `announce` (not on a repeated erasure), `contact.erased`
    goes out. Returns the rows emptied here."""
    emptied = 0
    for contact_id in contact_ids:
        emptied += await tx.outbox_forget(WEBHOOK_CHANNEL, f"contact:{contact_id}:")
    hooks = getattr(tx, "hooks", None)
    if announce and contact_ids and isinstance(hooks, Webhooks):
        await hooks.erased(tx, contact_ids, now)
    return emptied


def attach(store: Store, endpoints: Mapping[str, WebhookEndpoint], *,
           wake: Callable[[], None] | None = None) -> Webhooks | None:
    """Give `store` the hooks for these endpoints (none enabled: no hooks, no cost)."""
    if not any(e.enabled for e in endpoints.values()):
        return None
    hooks = Webhooks(endpoints, wake=wake)
    store.hooks = hooks  # type: ignore[attr-defined]
    log.info("outgoing webhooks: %s", ", ".join(
        f"{name} ({len(e.events)} event kinds)" for name, e in hooks.endpoints.items()))
    return hooks
