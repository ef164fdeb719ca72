"""A per-chat plus global send pacer that keeps a bot inside Telegram's limits.

Telegram asks for about one message per second per chat, 20 per minute per group and
30 per second overall, and answers 429 (with retry_after) beyond that. Pacing before the
call is cheaper than a 429, which also costs the outbox a retry. Each send reserves its
slot synchronously (no await between reading and updating the schedule), so concurrent
sends in one event loop never race for the same slot.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable

from channels.telegram.settings import RateLimits

_FORGET_AFTER = 300.0  # seconds: idle chats are dropped so the table stays small


class RateLimiter:
    def __init__(self, limits: RateLimits, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self._chat_next: dict[str, float] = {}
        self._slots: set[int] = set()
        self._last_sweep = 0.0

    def reserve(self, chat_id: str) -> float:
        """Reserve the next slot for `chat_id`; returns how many seconds to wait for it."""
        now = self.clock()
        self._sweep(now)
        ready = max(now, self._chat_next.get(chat_id, 0.0))
        # Global pace: time is cut into 1/rate slots and each send takes a free one, so a
        # chat waiting for its own next second never holds up the other chats.
        rate = self.limits.global_per_second
        slot = math.ceil(ready * rate)
        while slot in self._slots:
            slot += 1
        self._slots.add(slot)
        start = max(ready, slot / rate)
        self._chat_next[chat_id] = start + self._chat_interval(chat_id)
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
        if len(self._slots) > 1000:
            past = math.floor(now * self.limits.global_per_second)
            self._slots = {s for s in self._slots if s >= past}
        if now - self._last_sweep < _FORGET_AFTER:
            return
        self._last_sweep = now
        self._chat_next = {k: v for k, v in self._chat_next.items() if v > now - _FORGET_AFTER}
