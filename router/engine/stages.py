"""Where a customer's message waits between our webhook and our reply (issue 28).

One histogram, `inquiry_router_stage_seconds{stage=...}`, with a stage per hand-over:

- `stored`: webhook received -> the message is durably in the inbox (the platform's 200);
- `queued`: stored -> its processing unit handed to the store (the backlog's queue);
- `processed`: handed to the store -> rules, bots and replies committed (the writer's queue
  and the unit itself);
- `claimed`: committed -> the reply's outbox row leased and its send started (leased by
  its own unit and handed over at the commit, router/engine/reply_claim.py, or by a
  lease round);
- `sent`: leased -> the platform answered the send;
- `marked`: answered -> the "sent" mark committed (it waits up to `MARK_WAIT`, 0.1 s, for
  a lease round to carry it, then one is run for it: bookkeeping after the customer has
  the reply);
- `reply`: webhook received -> the platform answered the first reply's send: what the
  customer waits for.

With `acknowledge: processed` (and for channels that are not webhooks) `stored` covers the
whole processing and `queued`/`processed` are not observed. Timings are kept in memory per
message only until its first reply goes out; bounded maps forget the oldest entries, so
messages that never get a bot reply (handed to a person) cost nothing lasting.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Generic, TypeVar

from prometheus_client import Histogram

STAGES = ("stored", "queued", "processed", "claimed", "sent", "marked", "reply")
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0,
           10.0, 30.0)
MAX_TRACKED = 50_000  # messages and rows in flight whose timings are kept

K = TypeVar("K")
V = TypeVar("V")


class _Bounded(OrderedDict[K, V], Generic[K, V]):
    """A dict that forgets its oldest entries past `MAX_TRACKED`."""

    def put(self, key: K, value: V) -> None:
        self[key] = value
        if len(self) > MAX_TRACKED:
            self.popitem(last=False)


class StageClock:
    """Records the hand-overs of each message; `histogram` is labelled by `stage`."""

    def __init__(self, histogram: Histogram | None = None) -> None:
        # each stage's labelled child, looked up once: `labels()` per observation was a
        # dict lookup under a lock, seven times a message
        self._children = {stage: histogram.labels(stage) for stage in STAGES} \
            if histogram is not None else {}
        self._now = time.perf_counter
        self._stored: _Bounded[tuple[str, str], tuple[float, float]] = _Bounded()
        self._queued: _Bounded[tuple[str, str], tuple[float, float]] = _Bounded()
        self._processed: _Bounded[int, tuple[float, float]] = _Bounded()  # by conversation
        self._claimed: _Bounded[int, tuple[float, float]] = _Bounded()  # by outbox row
        self._sent: _Bounded[int, float] = _Bounded()

    def now(self) -> float:
        return self._now()

    def _observe(self, stage: str, seconds: float) -> None:
        child = self._children.get(stage)
        if child is not None:
            child.observe(max(0.0, seconds))

    def stored(self, key: tuple[str, str], received: float) -> None:
        now = self._now()
        self._observe("stored", now - received)
        self._stored.put(key, (received, now))

    def queued(self, key: tuple[str, str]) -> None:
        times = self._stored.pop(key, None)
        if times is None:
            return
        now = self._now()
        self._observe("queued", now - times[1])
        self._queued.put(key, (times[0], now))

    def processed(self, key: tuple[str, str], conversation_id: int | None) -> None:
        times = self._queued.pop(key, None)
        if times is None or conversation_id is None:
            return
        now = self._now()
        self._observe("processed", now - times[1])
        self._processed.put(conversation_id, (times[0], now))

    def processed_inline(self, conversation_id: int | None, received: float) -> None:
        """`acknowledge: processed`: stored and processed in one unit."""
        if conversation_id is not None:
            now = self._now()
            self._observe("stored", now - received)
            self._processed.put(conversation_id, (received, now))

    def claimed(self, row_id: int, conversation_id: int | None) -> None:
        times = self._processed.pop(conversation_id, None) if conversation_id is not None else None
        if times is None:
            return
        now = self._now()
        self._observe("claimed", now - times[1])
        self._claimed.put(row_id, (times[0], now))

    def sent(self, row_id: int) -> None:
        times = self._claimed.pop(row_id, None)
        if times is None:
            return
        now = self._now()
        self._observe("sent", now - times[1])
        self._observe("reply", now - times[0])
        self._sent.put(row_id, now)

    def marked(self, row_id: int) -> None:
        sent = self._sent.pop(row_id, None)
        if sent is not None:
            self._observe("marked", self._now() - sent)
