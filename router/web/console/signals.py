"""Follows the desk's commits: wakes the outbox and tells web chat visitors about agents.

Agents' actions commit through `Desk.write`, which wakes the live streams and this
instance's outbox dispatcher. This follower waits on the same notifier, so that

- a reply written on another instance, or by a unit that woke nobody, leaves within the
  dispatcher's `wake_outbox` delay (`Dispatcher.wake_soon`: every commit anywhere moves
  the notifier, and a lease round per commit had been a third of all units of work with
  three PostgreSQL instances, issue 28) instead of at its next poll;
- a web chat visitor's open widget shows "Anna joined" on a claim (or any assignment),
  "Anna left" when the conversation goes back to a queue, and "resolved" on resolve,
  via `WebchatAdapter.notify` (visitor id = the conversation's thread key).

It reads the events table after a cursor, like `/api/v1/stream`, so every instance
signals the visitors connected to it, whichever instance made the change. The signals
are momentary: after a restart the follower starts at the newest event.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from router.domain.model import Conversation, Event
from router.domain.tasks import cancel_and_wait
from router.engine.agents.desk import Desk
from router.ports.notify import FOLLOW_PACE, paced
from router.store.base import Tx

log = logging.getLogger(__name__)

KINDS = ("assigned", "resolved", "transferred")
POLL = 2.0  # seconds: the bound on latency for commits made by other instances
#: seconds between reads while no web chat visitor is connected to this instance: there
#: is nobody to signal, but the cursor moves on, so a visitor who comes later is
#: signalled what happens from then on, within this long, and no read is a backlog
IDLE_PACE = 1.0
Notify = Callable[[Conversation, str, str], Awaitable[int]]


def signal_of(event: Event, names: dict[str, str]) -> tuple[str, str] | None:
    """(web chat event, agent display name) for a desk event, or None."""
    data = event.data or {}
    if event.kind == "assigned" and data.get("agent"):
        return "agent_joined", names.get(data["agent"], data["agent"])
    if event.kind == "resolved":
        return "resolved", names.get(str(data.get("agent") or ""), "")
    if event.kind == "transferred":
        to, before = data.get("to_agent") or "", data.get("from_agent") or ""
        if to and to != before:
            return "agent_joined", names.get(to, to)
        if before and not to:
            return "agent_left", names.get(before, before)
    return None


class DeskFollower:
    def __init__(self, desk: Desk, *, wake_outbox: Callable[[], None],
                 notify: Notify | None, listening: Callable[[], bool] | None = None) -> None:
        """`notify` signals this instance's web chat sockets; `listening` says whether
        it holds any. Without visitors the follower reads once per `IDLE_PACE`, not
        after every commit (up to 20 times a second on each instance under load)."""
        self.desk = desk
        self.wake_outbox = wake_outbox
        self.notify = notify
        self.listening = listening
        self._task: asyncio.Task[None] | None = None

    async def start(self, *_: object) -> None:
        cursor = await self.desk.store.read(lambda tx: tx.last_event_id())
        self._task = asyncio.create_task(self._run(cursor), name="console-follower")

    async def stop(self, *_: object) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _run(self, cursor: int) -> None:
        notifier = self.desk.notifier
        loop = asyncio.get_running_loop()
        while True:
            generation = notifier.generation
            read_at = loop.time()
            try:
                cursor = await self.step(cursor)
            except Exception:
                log.exception("console: following desk events failed; retrying")
            if await notifier.wait_past(generation, POLL) > generation:
                self.wake_outbox()
            idle = self.listening is not None and not self.listening()
            await paced(read_at, IDLE_PACE if idle else FOLLOW_PACE)

    async def step(self, cursor: int) -> int:
        """Signal every relevant event after `cursor`; returns the new cursor."""
        if self.notify is None:
            return cursor

        store = self.desk.store
        # after most commits there is nothing to signal: one statement says so
        events, after = await store.read(lambda tx: tx.follow_events(cursor, KINDS, 500),
                                         one_statement=True)
        if not events:
            return after

        async def read(tx: Tx) -> tuple[dict[int, Conversation], dict[str, str]]:
            ids = sorted({e.conversation_id for e in events if e.conversation_id})
            convs = {c.id: c for c in await tx.get_conversations(ids)} if ids else {}
            return convs, {a.name: a.display_name or a.name for a in await tx.list_agents()}

        convs, names = await store.read(read)
        for event in events:
            conv = convs.get(event.conversation_id or 0)
            what = signal_of(event, names)
            if conv is None or what is None or conv.channel != "webchat":
                continue
            try:
                await self.notify(conv, *what)
            except Exception:  # a visitor's dead socket must not stop the follower
                log.exception("console: web chat signal for conversation %s failed", conv.id)
        return after
