"""One CRM as an outbox route: each row logs one resolved conversation on its contact.

Going through the outbox gives the sync its retries with backoff, the CRM's Retry-After,
dead letters and `inquiry-router outbox retry`, on every instance of a PostgreSQL
deployment, and keeps it out of the message's unit of work: a failing CRM delays only its
own rows. The follower (follower.py) puts a customer's rows in one lane (the outbox
sends a lane's rows one after another), so two conversations of one customer never look
the contact up at once; the record found or created is remembered on the contact
(`crm_contacts`), and the next conversation is logged on it without a search.

A crash between the CRM's answer and the "sent" mark repeats that one activity after the
lease (at-least-once, as for Telegram and Slack); a repeated contact lookup finds the
remembered record or the CRM's own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from router.domain.errors import ChannelError
from router.domain.model import OutboundMessage
from router.engine.integrations.crm import mapping
from router.engine.integrations.crm.client import CrmClient, RemoteGone
from router.engine.integrations.crm.gate import Gate
from router.engine.integrations.crm.mapping import Record
from router.engine.integrations.crm.record import load_record
from router.engine.integrations.crm.settings import CrmCommon
from router.ports.channel import ChannelAdapter, SendResult
from router.store.base import Store, utcnow

log = logging.getLogger(__name__)


def route(vendor: str) -> str:
    """The outbox channel of a CRM's rows."""
    return f"crm:{vendor}"


class CrmAdapter(ChannelAdapter):
    def __init__(self, *, settings: CrmCommon, store: Store, link_template: str,
                 client_factory: Callable[[], CrmClient]) -> None:
        self.vendor = settings.vendor
        self.name = route(settings.vendor)
        self.store = store
        self.link_template = link_template
        self.contact_fields = settings.contact_fields()
        self.activity_fields = settings.activity_fields()
        self.lanes = settings.concurrency
        self.gate = Gate(settings.vendor, rate=settings.rate_limit, workers=settings.concurrency)
        self._factory = client_factory
        self._client: CrmClient | None = None
        self._client_lock = asyncio.Lock()

    async def stop(self) -> None:
        self.gate.close()

    async def _get_client(self) -> CrmClient:
        async with self._client_lock:
            if self._client is None:  # the vendor's package imports on a worker thread
                loop = asyncio.get_running_loop()
                self._client = await loop.run_in_executor(self.gate.pool, self._factory)
            return self._client

    async def send(self, message: OutboundMessage) -> SendResult:
        meta = message.metadata or {}
        if meta.get("crm") != self.vendor or message.conversation_id is None:
            raise ChannelError("nothing to sync (the contact was erased)", permanent=True)
        conversation_id = message.conversation_id
        record = await self.store.read(
            lambda tx: load_record(tx, conversation_id, link_template=self.link_template))
        if record is None:
            raise ChannelError("the conversation or its contact is gone or erased", permanent=True)
        lookup = mapping.lookup(self.contact_fields, record.contact)
        if not lookup:
            raise ChannelError("the contact has no email or phone to find it by", permanent=True)
        client = await self._get_client()
        remote = await self._contact(client, record, lookup)
        try:
            activity = await self.gate.call(client.log_activity, remote,
                                            mapping.render(self.activity_fields, record))
        except RemoteGone as exc:
            await self.store.write(lambda tx: tx.forget_crm_contact(self.vendor, remote))
            raise ChannelError(f"{exc.reason}; contact {remote} is gone from {self.vendor}, "
                               "looked up again on the next attempt") from None
        log.info("conversation %s logged in %s as %s", conversation_id, self.vendor, activity,
                 extra={"conversation_id": conversation_id, "crm": self.vendor})
        return SendResult(external_id=activity)

    async def _contact(self, client: CrmClient, record: Record, lookup: dict[str, str]) -> str:
        """The contact's record in the CRM: remembered, found, or created (then remembered)."""
        contact = record.contact
        remote = await self.store.read(lambda tx: tx.crm_contact(
            self.vendor, contact.id, email=contact.email, phone=contact.phone))
        created = False
        if remote is None:
            remote = await self.gate.call(client.find_contact, lookup)
        if remote is None:
            remote = await self.gate.call(client.create_contact,
                                          mapping.render(self.contact_fields, record))
            created = True
        found: str = remote
        await self.store.write(lambda tx: tx.set_crm_contact(self.vendor, contact.id, found,
                                                             utcnow()))
        if created:
            log.info("contact %s created in %s as %s", contact.id, self.vendor, found,
                     extra={"contact_id": contact.id, "crm": self.vendor})
        return found
