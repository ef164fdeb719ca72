"""`StoreChannelHost`: a channel's `ChannelHost` on the service's store.

Each call is one unit of work on the Store/Tx API. Reachability is kept twice in the same
unit, for two readers: the contact's `unreachable` flag (agents see why answers stop)
and an entry `unreachable:<address>` in the channel's own state, tied to the contact so
privacy erase removes it, which the outbox's lease round looks up by the row's address
and channel (`Tx.outbox_lease_round`), so a contact who blocked one bot is still written to elsewhere.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from router.domain.model import Contact, Conversation, Message
from router.engine import identities
from router.ports.channel_host import ChannelHost, unreachable_key
from router.ports.channel_state import ChannelState
from router.store.base import Store, Tx, utcnow
from router.store.channel_state import StoreChannelState

log = logging.getLogger(__name__)


class StoreChannelHost(ChannelHost):
    def __init__(self, store: Store, channel: str) -> None:
        self.store = store
        self.channel = channel
        self._state = StoreChannelState(store, channel)

    @property
    def state(self) -> ChannelState:
        return self._state

    async def conversation_for(self, thread_key: str) -> Conversation | None:
        # one statement: no transaction around it (on PostgreSQL, BEGIN and COMMIT were
        # two of the three round trips of every web chat socket's hello)
        return await self.store.read(lambda tx: tx.find_conversation(self.channel, [thread_key]),
                                     one_statement=True)

    async def history(self, conversation_id: int, limit: int = 1000) -> list[Message]:
        async def unit(tx: Tx) -> list[Message]:
            conv = await tx.get_conversation(conversation_id)
            if conv is None or conv.channel != self.channel:  # another channel's: not ours
                return []
            return await tx.list_messages(conversation_id, limit)

        return await self.store.read(unit)

    async def message(self, external_id: str) -> Message | None:
        return await self.store.read(lambda tx: tx.find_message(self.channel, external_id))

    async def customer_message(self, thread_key: str, message_id: int) -> Message | None:
        async def unit(tx: Tx) -> Message | None:
            message = await tx.get_message(message_id)
            if message is None or message.internal:
                return None
            conv = await tx.get_conversation(message.conversation_id)
            if conv is None or conv.channel != self.channel or conv.thread_key != thread_key:
                return None
            return message

        return await self.store.read(unit)

    async def messages_with_attachment_mark(self, mark: str, limit: int = 100) -> list[Message]:
        return await self.store.read(
            lambda tx: tx.messages_with_attachment_mark(self.channel, mark, limit))

    async def contact(self, external_id: str) -> Contact | None:
        return await self.store.read(lambda tx: tx.find_contact(self.channel, external_id))

    async def site_user_of(self, external_id: str) -> str | None:
        return await self.store.read(lambda tx: identities.user_of(tx, self.channel, external_id))

    async def site_vouches(self, external_id: str, user: identities.SiteUser, *,
                           address: str = "") -> Contact | None:
        return await self.store.write(lambda tx: identities.site_vouches(
            tx, self.channel, external_id, user, utcnow(), address=address))

    async def sender_said(self, external_id: str, *, name: str, email: str) -> Contact:
        return await self.store.write(lambda tx: identities.visitor_said(
            tx, self.channel, external_id, name=name, email=email, now=utcnow()))

    async def update_attachment(self, message_id: int, external_id: str, index: int,
                                changes: dict[str, Any]) -> bool:
        async def unit(tx: Tx) -> bool:
            message = await tx.find_message(self.channel, external_id)
            if message is None or message.id != message_id or index >= len(message.attachments):
                return False
            attachments = [dict(a) for a in message.attachments]
            attachments[index].update(changes)
            await tx.update_message_attachments(message_id, attachments)
            return True

        return await self.store.write(unit)

    async def set_unreachable(self, address: str, value: bool) -> bool:
        key, now = unreachable_key(address), utcnow()

        async def unit(tx: Tx) -> bool:
            contact = await tx.find_contact(self.channel, address)
            if contact is None:
                return False
            if contact.unreachable != value:
                await tx.set_contact_unreachable(contact.id, value)
            if value:
                await tx.channel_state_put(self.channel, key, json.dumps(True), None,
                                           contact.id, now)
            else:
                await tx.channel_state_delete(self.channel, key)
            return True

        found = await self.store.write(unit)
        log.info("%s: %s %s%s", self.channel, address,
                 "refuses our messages" if value else "is reachable again",
                 "" if found else " (no contact)")
        return found

    async def is_unreachable(self, address: str) -> bool:
        key = unreachable_key(address)
        return await self.store.read(lambda tx: tx.channel_state_get(self.channel, key)) is not None

    async def broadcast(self, payload: dict[str, Any], *, prompt: bool = False) -> None:
        if not self.store.shared:  # one process on the database: nobody to tell
            return  # (not even the encoding)
        await self.store.broadcast(self.channel, json.dumps(payload, ensure_ascii=False,
                                                             separators=(",", ":")),
                                   prompt=prompt)

    def on_broadcast(self, callback: Callable[[dict[str, Any]], None]) -> None:
        def received(payload: str) -> None:
            try:
                decoded = json.loads(payload)
            except ValueError:
                log.warning("%s: a broadcast that is not JSON, ignored", self.channel)
                return
            callback(decoded)

        self.store.on_broadcast(self.channel, received)
