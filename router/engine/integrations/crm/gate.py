"""The way to one CRM: its worker threads, its request rate, and its 429 pauses.

The vendors' clients are synchronous (urllib3, requests), so each call runs on a bounded
pool of worker threads, never on the event loop. Calls are spaced to the configured rate,
and a 429 pauses *every* call to that CRM until its Retry-After has passed: the rows that
would have gone meanwhile are put back in the outbox for then, without a request.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from router.domain.errors import ChannelRateLimited

T = TypeVar("T")


class Gate:
    def __init__(self, name: str, *, rate: float, workers: int) -> None:
        self.name = name
        self.interval = 1.0 / rate
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"crm-{name}")
        self._next = 0.0  # loop time the next request may start at
        self._paused_until = 0.0

    def pause(self, seconds: float) -> None:
        """No request to this CRM for `seconds` (a 429's Retry-After)."""
        until = asyncio.get_running_loop().time() + seconds
        self._paused_until = max(self._paused_until, until)

    def _check_paused(self, now: float) -> None:
        if self._paused_until > now:
            raise ChannelRateLimited(f"{self.name} asked us to wait (429)", self._paused_until - now)

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` on a worker thread, at the configured rate."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._check_paused(now)
        start = max(now, self._next)
        self._next = start + self.interval
        if start > now:
            await asyncio.sleep(start - now)  # pacing to the CRM's rate limit
            self._check_paused(loop.time())
        try:
            return await loop.run_in_executor(self.pool, functools.partial(fn, *args))
        except ChannelRateLimited as exc:
            self.pause(exc.retry_after or 1.0)
            raise

    def close(self) -> None:
        # calls in flight finish on their threads (each bounded by the client's timeout)
        self.pool.shutdown(wait=False, cancel_futures=True)


def retry_after(value: str | None, default: float) -> float:
    """Seconds from a Retry-After header (delta-seconds; a date or garbage gives `default`)."""
    try:
        seconds = float(value) if value is not None else default
    except ValueError:
        return default
    return min(max(seconds, 0.0), 3600.0)
