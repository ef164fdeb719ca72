"""Wakes live streams when a unit of work that wrote events has committed.

The stream never trusts the notification for content: it re-reads events after its cursor
from the store, so a missed or spurious wake-up costs latency, never an event. That is
why one in-process implementation is enough for SQLite, and why a PostgreSQL deployment
can swap in LISTEN/NOTIFY behind the same two methods.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol


class Notifier(Protocol):
    generation: int

    def notify(self, *_: object) -> None: ...

    async def wait_past(self, generation: int, max_wait: float) -> int: ...


class EventNotifier:
    """A generation counter plus an asyncio.Event that is replaced on every notify."""

    def __init__(self) -> None:
        self.generation = 0
        self._event = asyncio.Event()

    def notify(self, *_: object) -> None:
        """Call after a commit (any arguments are ignored, so it fits every callback)."""
        self.generation += 1
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait_past(self, generation: int, max_wait: float) -> int:
        """Return once `self.generation` is past `generation`, or after `max_wait` seconds.

        Take `generation` *before* reading the store: a commit between the read and this
        call then returns at once instead of being slept through.
        """
        if self.generation > generation:
            return self.generation
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), max_wait)
        return self.generation
