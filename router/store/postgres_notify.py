"""NOTIFYs sent outside a unit of work, batched on the LISTEN connection (issue 28).

Two kinds go this way: web chat's broadcasts (a reply pushed to a visitor's socket on
whichever instance holds it, see `Store.broadcast`) and the commit NOTIFY an instance
sends after a unit that did not carry one (`PostgresStore._notify_later`). Each had taken
a connection of the pool for one round trip. Under load the pool is busy with processing
units, so every web chat reply first queued behind them for a connection: at 400
conversations a second the reply's send waited there longer than anywhere else.

The LISTEN connection is otherwise idle (it only receives), so these go on it instead,
and whatever was asked for while one round trip was under way goes in the next one, as
one statement. Broadcasts wait up to `gather` seconds for company first: the visitor's
own instance has pushed the reply already, a broadcast only reaches the visitor's other
tabs on other instances, and every statement of NOTIFYs wakes every instance's
listener (PostgreSQL signals each listening backend once per commit): with broadcasts
turned off, three instances used about a tenth less CPU a message at 200 web chat
conversations a second (most replies are no longer broadcast at all since, see
channels/webchat/presence.py). A commit's NOTIFY ends the wait at once.

When the LISTEN connection is down (it is being re-established) a pooled connection
carries them. A NOTIFY that cannot be sent is logged and dropped, as before:
for a commit the others' fallback poll finds it a little later; for a broadcast the
visitor's widget reads the reply from the store when it reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import asyncpg

log = logging.getLogger(__name__)
#: seconds a broadcast waits for others to share its statement (see the module's docstring)
GATHER = 0.02
#: one statement for a batch; PostgreSQL delivers them in this order
NOTIFY_ALL = "SELECT pg_notify(c, m) FROM unnest($1::text[], $2::text[]) AS x(c, m)"


class BatchedNotify:
    """Sends (channel, payload) NOTIFYs, one statement per batch, one batch at a time."""

    def __init__(self, listener: Callable[[], asyncpg.Connection | None],
                 acquire: Callable[[], Any], errors: tuple[type[BaseException], ...]) -> None:
        self._listener = listener  # the LISTEN connection, None while it is re-established
        self._acquire = acquire  # a pooled connection, as an async context manager
        self._errors = errors
        self._waiting: list[tuple[str, str, asyncio.Future[None]]] = []
        self._sender: asyncio.Task[None] | None = None
        self.gather = GATHER
        self._urgent = asyncio.Event()  # something waiting may not wait for `gather`
        self.batches = 0  # statements sent (tests read it)

    def post(self, channel: str, payload: str, *, gather: bool = False) -> asyncio.Future[None]:
        """Queue a NOTIFY; the future is done once it was sent, or its failure logged.
        One asked for while a batch is on its way goes in the next batch, after it.
        `gather`: it may wait up to `gather` seconds for others to share its statement."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((channel, payload, done))
        if not gather:
            self._urgent.set()
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send_all(), name="pg-notify")
        return done

    async def send(self, channel: str, payload: str) -> None:
        """`post`, and wait until it was sent (or its failure logged)."""
        await asyncio.shield(self.post(channel, payload))  # a cancelled caller cancels no batch

    async def flush(self) -> None:
        """Wait until everything asked for so far was sent (at close)."""
        if self._sender is not None:
            await self._sender

    async def _send_all(self) -> None:
        while self._waiting:
            if self.gather > 0 and not self._urgent.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._urgent.wait(), self.gather)
            batch, self._waiting = self._waiting, []
            self._urgent.clear()
            try:
                await self._send_batch([c for c, _, _ in batch], [p for _, p, _ in batch])
            except self._errors as exc:
                log.warning("could not NOTIFY other instances (%d message(s)): %s",
                            len(batch), exc)
            finally:
                for _, _, done in batch:
                    if not done.done():
                        done.set_result(None)

    async def _send_batch(self, channels: list[str], payloads: list[str]) -> None:
        self.batches += 1
        conn = self._listener()
        if conn is not None and not conn.is_closed():
            await conn.execute(NOTIFY_ALL, channels, payloads)
            return
        async with self._acquire() as pooled:
            await pooled.execute(NOTIFY_ALL, channels, payloads)
