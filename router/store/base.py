"""The backend-neutral store interface.

Work is expressed as units of work: `await store.write(fn)` runs `fn(tx)` inside one
transaction and returns its result only after the commit is durable. The pipeline, the
outbox and the agent queue are written once against `Tx`; each backend (SQLite now,
PostgreSQL next) implements `Tx` with its own SQL. A unit of work must do nothing but
store work (no network, no sleeping): the SQLite backend runs many of them in one commit.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from router.model import (
    Contact,
    Conversation,
    Event,
    Identity,
    Message,
    OutboxRow,
    OutboxStatus,
)

T = TypeVar("T")


def utcnow() -> datetime:
    return datetime.now(UTC)


def ts(value: datetime | None) -> str | None:
    """Timestamps are stored as fixed-width UTC ISO strings: they sort as text."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_ts(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


class Tx(abc.ABC):
    """Operations available inside one transaction."""

    # inbox
    @abc.abstractmethod
    async def inbox_claim(self, channel: str, external_id: str, now: datetime) -> bool:
        """Record a delivery key; False if it was seen before (a redelivery)."""

    @abc.abstractmethod
    async def inbox_link(self, channel: str, external_id: str, message_id: int) -> None: ...

    # contacts
    @abc.abstractmethod
    async def find_identity(self, channel: str, external_id: str) -> Identity | None: ...

    @abc.abstractmethod
    async def create_contact(self, contact: Contact, now: datetime) -> int: ...

    @abc.abstractmethod
    async def create_identity(self, identity: Identity, now: datetime) -> int: ...

    @abc.abstractmethod
    async def get_contact(self, contact_id: int) -> Contact | None: ...

    @abc.abstractmethod
    async def update_contact(self, contact: Contact) -> None: ...

    # conversations
    @abc.abstractmethod
    async def find_conversation(self, channel: str, keys: Sequence[str]) -> Conversation | None:
        """Newest conversation registered under any of `keys` on `channel`."""

    @abc.abstractmethod
    async def get_conversation(self, conversation_id: int) -> Conversation | None: ...

    @abc.abstractmethod
    async def create_conversation(self, conversation: Conversation) -> int: ...

    @abc.abstractmethod
    async def save_conversation(self, conversation: Conversation, now: datetime) -> None: ...

    @abc.abstractmethod
    async def add_thread_keys(self, channel: str, keys: Iterable[str], conversation_id: int) -> None: ...

    # messages and events
    @abc.abstractmethod
    async def insert_message(self, message: Message, raw: dict[str, Any] | None = None) -> int: ...

    @abc.abstractmethod
    async def find_message(self, conversation_channel: str, external_id: str) -> Message | None: ...

    @abc.abstractmethod
    async def edit_message(self, message_id: int, text: str, now: datetime) -> None: ...

    @abc.abstractmethod
    async def list_messages(self, conversation_id: int, limit: int = 1000) -> list[Message]: ...

    @abc.abstractmethod
    async def insert_event(self, event: Event) -> int: ...

    @abc.abstractmethod
    async def list_events(self, conversation_id: int | None = None, *, after_id: int = 0,
                          kinds: Sequence[str] = (), limit: int = 1000) -> list[Event]: ...

    # outbox
    @abc.abstractmethod
    async def outbox_add(self, row: OutboxRow) -> int: ...

    @abc.abstractmethod
    async def outbox_lease(self, now: datetime, until: datetime, limit: int) -> list[OutboxRow]:
        """Take due rows (oldest first, one per thread so order is kept) and lease them."""

    @abc.abstractmethod
    async def outbox_sent(self, outbox_id: int, external_id: str, now: datetime) -> None: ...

    @abc.abstractmethod
    async def outbox_retry_later(self, outbox_id: int, when: datetime, error: str) -> None: ...

    @abc.abstractmethod
    async def outbox_give_up(self, outbox_id: int, status: OutboxStatus, error: str) -> None: ...

    @abc.abstractmethod
    async def outbox_list(self, statuses: Sequence[OutboxStatus], limit: int = 100) -> list[OutboxRow]: ...

    @abc.abstractmethod
    async def outbox_requeue(self, ids: Sequence[int] | None, now: datetime) -> int:
        """Dead/failed rows back to pending (all dead ones when ids is None)."""

    @abc.abstractmethod
    async def outbox_next_due(self) -> datetime | None: ...

    @abc.abstractmethod
    async def get_outbox(self, outbox_id: int) -> OutboxRow | None: ...


class Store(abc.ABC):
    """A database the service keeps everything in."""

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect and apply pending migrations."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def write(self, fn: Callable[[Tx], Awaitable[T]]) -> T:
        """Run `fn` in a write transaction; return after a durable commit."""

    @abc.abstractmethod
    async def read(self, fn: Callable[[Tx], Awaitable[T]]) -> T:
        """Run `fn` against a consistent snapshot (no writes)."""

    @abc.abstractmethod
    async def schema_version(self) -> int: ...
