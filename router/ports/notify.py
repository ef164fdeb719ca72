"""Wakes live streams when a unit of work that wrote events has committed.

The stream never trusts the notification for content: it re-reads events after its cursor
from the store, so a missed or spurious wake-up costs latency, never an event. That is
why one in-process implementation is enough for SQLite, and why a PostgreSQL deployment
can swap in LISTEN/NOTIFY behind the same two methods.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from router.domain.tasks import woken

#: seconds between two reads of a follower of the events (the console's signals, an
#: agent's live stream) at least
FOLLOW_PACE = 0.05


async def paced(last_read: float, pace: float = FOLLOW_PACE) -> None:
    """Return once `pace` seconds have passed since `last_read` (the loop's clock).

    A follower reads the store after every commit, and under load commits come back to
    back: each follower then read once per commit, one read after another (issue 28:
    the console's follower alone took more round trips than the messages' own work on
    three PostgreSQL instances). Paced, a quiet desk still reads at once after a commit,
    and a busy one at most 20 times a second, each read taking all that came meanwhile."""
    delay = last_read + pace - asyncio.get_running_loop().time()
    if delay > 0:
        await asyncio.sleep(delay)


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
        await woken(self._event, max_wait)  # a stop (cancellation) is never lost there
        return self.generation
