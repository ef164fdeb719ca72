"""Background tasks' end: cancelled, and waited for until they have stopped."""

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
