"""A per-chat plus global send pacer that keeps a bot inside Telegram's limits.

Telegram asks for about one message per second per chat, 20 per minute per group and
30 per second overall, and answers 429 (with retry_after) beyond that. Pacing before the
call is cheaper than a 429, which also costs the outbox a retry. Each send reserves its
slot synchronously (no await between reading and updating the schedule), so concurrent
sends in one event loop never race for the same slot.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from channels.telegram.settings import RateLimits

_FORGET_AFTER = 300.0  # seconds: idle chats are dropped so the table stays small


class RateLimiter:
    def __init__(self, limits: RateLimits, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self._chat_next: dict[str, float] = {}
        self._global_next = 0.0
        self._last_sweep = 0.0

    def reserve(self, chat_id: str) -> float:
        """Reserve the next slot for `chat_id`; returns how many seconds to wait for it."""
        now = self.clock()
        self._sweep(now)
        start = max(now, self._chat_next.get(chat_id, 0.0), self._global_next)
        self._chat_next[chat_id] = start + self._chat_interval(chat_id)
        self._global_next = start + 1.0 / self.limits.global_per_second
        return start - now

    async def wait(self, chat_id: str) -> None:
        delay = self.reserve(chat_id)
        if delay > 0:
            await asyncio.sleep(delay)

    def _chat_interval(self, chat_id: str) -> float:
        if chat_id.startswith("-"):  # groups and supergroups have negative ids
            return 60.0 / self.limits.per_group_per_minute
        return 1.0 / self.limits.per_chat_per_second

    def _sweep(self, now: float) -> None:
        if now - self._last_sweep < _FORGET_AFTER:
            return
        self._last_sweep = now
        self._chat_next = {k: v for k, v in self._chat_next.items() if v > now - _FORGET_AFTER}
