"""Background tasks' end: cancelled, and waited for until they have stopped; and the
wait for a wake-up that such a task sleeps in."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any


async def cancel_and_wait(task: asyncio.Future[Any] | None) -> None:
    """Cancel `task` and wait until it has stopped (its CancelledError is the expected
    end, not an error). Waiting matters: a task still running after `stop()` returned
    could use a connection or store that is being closed."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def woken(event: asyncio.Event, within: float) -> bool:
    """Wait until `event` is set or `within` seconds have passed; whether it was set.

    For the loops of background tasks that `cancel_and_wait` stops. Not
    `asyncio.wait_for(event.wait(), ...)`: on Python 3.11 a cancellation that comes as the
    event is set is lost there, the task runs on, and its stop never returns (a follower
    or scheduler woken by a commit at the moment the service stopped)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(within):
            await event.wait()
    return event.is_set()
