"""When the garbage collector's full collections run: when the service has room for them.

A full collection (generation 2) walks every container object made since start-up (the
start-up objects are frozen out of its sight by `serve`), including the backlog of
accepted messages, and the event loop stands still meanwhile. Under the ingest
benchmark's load, CPython's own policy ran one every 2-3 s for 5-25 ms, and every webhook
waiting at that moment waited that much longer: that was the 99th percentile.

Young collections (generations 0 and 1) stay automatic: they are short and free most
cycles. Full collections move here: once the loop has been mostly idle for a check
interval, and at least every `max_interval` seconds whatever the load, so memory held by
old cycles stays bounded. They still run only when CPython would have wanted one (as many
generation-1 collections as its third threshold asks for).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable

from router.domain.tasks import cancel_and_wait

log = logging.getLogger("router.engine.collector")

NEVER = 1 << 30  # a third threshold CPython never reaches: no automatic full collections


class FullCollections:
    def __init__(self, *, check_every: float = 1.0, idle_below: float = 0.5,
                 max_interval: float = 30.0,
                 cpu_clock: Callable[[], float] = time.thread_time,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """`idle_below`: the share of a check interval the loop's thread may have spent on
        the CPU for the interval to count as room for a collection."""
        self.check_every = check_every
        self.idle_below = idle_below
        self.max_interval = max_interval
        self._cpu_clock = cpu_clock
        self._clock = clock
        self._due_after = gc.get_threshold()[2]
        self._saved: tuple[int, int, int] | None = None
        self._task: asyncio.Task[None] | None = None
        self.collections = 0  # full collections run from here, for tests and logs
        self.collected = asyncio.Event()  # set after each of them

    def should_collect(self, *, utilisation: float, since_last: float, pending: int) -> bool:
        """Whether to run a full collection now. `pending`: generation-1 collections since
        the last full one (CPython's own trigger counts those)."""
        if pending <= self._due_after:
            return False
        return utilisation < self.idle_below or since_last >= self.max_interval

    def start(self) -> None:
        """Take full collections over from CPython (until `stop`)."""
        self._saved = gc.get_threshold()
        gc.set_threshold(self._saved[0], self._saved[1], NEVER)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="full-collections")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None

    async def _run(self) -> None:
        last = wall = self._clock()
        cpu = self._cpu_clock()
        while True:
            await asyncio.sleep(self.check_every)
            now, cpu_now = self._clock(), self._cpu_clock()
            utilisation = (cpu_now - cpu) / max(now - wall, 1e-9)
            if self.should_collect(utilisation=utilisation, since_last=now - last,
                                   pending=gc.get_count()[2]):
                started = time.perf_counter()
                found = gc.collect(2)
                self.collections += 1
                self.collected.set()
                last = self._clock()
                log.debug("full collection: %d objects freed in %.1f ms (loop busy %.0f%%)",
                          found, (time.perf_counter() - started) * 1000, utilisation * 100)
            wall, cpu = self._clock(), self._cpu_clock()


def after_startup() -> FullCollections:
    """What the service does once started (see `serve`): what lives as long as the process
    (modules, the rules and their language model, the platforms' model classes) leaves
    the collector's sight, so a full collection scans only what was made since; and full
    collections wait for room from then on. Returns them started: `stop` them at the end."""
    gc.collect()
    gc.freeze()
    collections = FullCollections()
    collections.start()
    return collections
