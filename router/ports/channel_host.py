"""`ChannelHost`: everything the core offers one channel besides its intake (issue 25).

A channel never imports the store. What it needs from the core it asks its host, which
the service makes per channel name (`ChannelContext.host_for(name)`), so a channel sees
only its own conversations and keys:

- `state`: the channel's own `ChannelState` (positions, leases, thread memory);
- read-only lookups: the conversation behind a thread key, a conversation's history, a
  stored message by its platform id, the message an outbox row delivers;
- who a sender is, where the channel learns more than intake carries (the web chat's
  pre-chat form and signed site identities, `router/engine/identities.py`);
- the one piece of message data a channel adds after intake: an attachment's outcome
  (a Telegram download's result is part of the message, not channel state);
- reachability: a channel reports that the platform refuses to deliver to someone (a
  user blocked the bot); the outbox then stops sending there on its own;
- word to the same channel in the other instances sharing the store (`broadcast`): what
  lives in one process only, a web chat visitor's open socket, reached from another.

Lookups are read-only on purpose: what a channel changes in the core goes through the
intake (a message) or the outbox (a reply), where the pipeline decides.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from router.domain.model import Contact, Conversation, Message
from router.ports.channel_state import ChannelState

if TYPE_CHECKING:
    from router.engine.identities import SiteUser

#: the prefix of the state keys the host keeps on a channel's behalf (reachability); a
#: channel keeps its own keys under other prefixes
UNREACHABLE: Final = "unreachable:"


def unreachable_key(address: str) -> str:
    """The state key recording that `address` (a chat, a user) refuses our messages."""
    return UNREACHABLE + address


class ChannelHost(abc.ABC):
    """The core as one channel sees it; every call is its own unit of work."""

    #: the channel this host serves (the name on its messages and outbox rows)
    channel: str

    @property
    @abc.abstractmethod
    def state(self) -> ChannelState:
        """The channel's own keys, shared by every instance and erased with the contact."""

    # --- read-only lookups ----------------------------------------------------------
    @abc.abstractmethod
    async def conversation_for(self, thread_key: str) -> Conversation | None:
        """The newest conversation on this channel registered under `thread_key`."""

    @abc.abstractmethod
    async def history(self, conversation_id: int, limit: int = 1000) -> list[Message]:
        """The conversation's messages, oldest first (internal notes included: the
        channel decides what its customer sees)."""

    @abc.abstractmethod
    async def message(self, external_id: str) -> Message | None:
        """The stored message with this platform id in a conversation on this channel."""

    @abc.abstractmethod
    async def customer_message(self, thread_key: str, message_id: int) -> Message | None:
        """Stored message `message_id` if it is in a conversation on this channel under
        `thread_key` and not an internal note: what that thread's customer may see."""

    @abc.abstractmethod
    async def messages_with_attachment_mark(self, mark: str, limit: int = 100) -> list[Message]:
        """Messages on this channel whose attachments, as compact JSON, contain `mark`
        (e.g. `"download":"pending"`), oldest first: how work recorded on a message is
        found again after a restart."""

    # --- who the sender is ---------------------------------------------------------
    @abc.abstractmethod
    async def contact(self, external_id: str) -> Contact | None:
        """The contact known on this channel by `external_id`."""

    @abc.abstractmethod
    async def site_user_of(self, external_id: str) -> str | None:
        """The signed-in site user the sender's contact is known as, or None."""

    @abc.abstractmethod
    async def site_vouches(self, external_id: str, user: SiteUser, *,
                           address: str = "") -> Contact | None:
        """A site signed that the sender is `user`: join them to that user's contact
        (None when the sender is already known as another user)."""

    @abc.abstractmethod
    async def sender_said(self, external_id: str, *, name: str, email: str) -> Contact:
        """The sender's own word about their name and email (a form), for their contact."""

    # --- message data ---------------------------------------------------------------
    @abc.abstractmethod
    async def update_attachment(self, message_id: int, external_id: str, index: int,
                                changes: dict[str, Any]) -> bool:
        """Merge `changes` into attachment `index` of the message (found by its platform
        id, checked against `message_id`); False when there is no such attachment."""

    # --- reachability ---------------------------------------------------------------
    @abc.abstractmethod
    async def set_unreachable(self, address: str, value: bool) -> bool:
        """Record that the contact behind `address` on this channel refuses (True) or
        accepts again (False) our messages; False when no contact is known there.

        The outbox fails rows to an unreachable address without calling the channel, and
        agents see the contact flagged."""

    @abc.abstractmethod
    async def is_unreachable(self, address: str) -> bool:
        """Whether `address` on this channel is recorded as refusing our messages."""

    # --- other instances ------------------------------------------------------------
    async def broadcast(self, payload: dict[str, Any], *,  # noqa: B027 - optional
                        prompt: bool = False) -> None:
        """Hand `payload` (JSON, at most about 7,000 bytes) to this channel's
        `on_broadcast` callbacks in every other instance sharing the store. Best effort:
        only for a faster path to what the store already holds. It may wait a few
        milliseconds to travel with others unless `prompt`. One process (SQLite, or a
        host without a store): nothing to do."""

    def on_broadcast(self, callback: Callable[[dict[str, Any]], None]) -> None:  # noqa: B027
        """Call `callback(payload)` for each `broadcast` of this channel by another
        instance (in the event loop's thread; start tasks for slow work)."""
