"""`ChannelState`: the port through which a channel keeps its own state (issue 25).

In the spirit of aiogram's `BaseStorage`: the core hands each channel one, scoped to that
channel's name, and the channel never sees the store behind it. Values are anything JSON
can hold. An entry may name the conversation and/or contact it is about, so that privacy
erase removes it with them. `claim` is a lease for work only one instance may do at a
time (polling one mailbox, leading one workspace): True for the owner holding it, False
while another owner's lease has not run out.
"""

from __future__ import annotations

import abc
from datetime import timedelta
from typing import Any


class ChannelState(abc.ABC):
    """One channel's keys; every instance sharing the database sees the same ones."""

    @abc.abstractmethod
    async def get(self, key: str, default: Any = None) -> Any:
        """The value under `key`, else `default`."""

    @abc.abstractmethod
    async def put(self, key: str, value: Any, *, conversation_id: int | None = None,
                  contact_id: int | None = None) -> None:
        """Keep `value` under `key` (replacing it), tied to a conversation and/or contact."""

    @abc.abstractmethod
    async def delete(self, key: str) -> bool:
        """Forget `key` (its value and any lease); whether it existed."""

    @abc.abstractmethod
    async def scan(self, prefix: str) -> dict[str, Any]:
        """Every key starting with `prefix` and its value, in key order."""

    @abc.abstractmethod
    async def claim(self, key: str, owner: str, ttl: timedelta | float) -> bool:
        """Take or renew the lease `key` for `ttl` (seconds or a timedelta): True when
        `owner` now holds it, False while another owner's lease is unexpired."""

    @abc.abstractmethod
    async def release(self, key: str, owner: str) -> bool:
        """Give the lease up early if `owner` holds it (its value, if any, stays)."""
