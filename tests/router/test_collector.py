"""Full garbage collections run when the loop has room, and at least every max_interval."""

from __future__ import annotations

import asyncio
import gc
import itertools

from router.engine.collector import NEVER, FullCollections


def test_full_collections_wait_for_room_or_the_interval():
    schedule = FullCollections(idle_below=0.5, max_interval=30.0)
    due = gc.get_threshold()[2] + 1
    assert schedule.should_collect(utilisation=0.2, since_last=1.0, pending=due)
    assert not schedule.should_collect(utilisation=0.9, since_last=1.0, pending=due)
    assert schedule.should_collect(utilisation=0.9, since_last=30.0, pending=due)
    # not before CPython itself would have wanted one
    assert not schedule.should_collect(utilisation=0.0, since_last=60.0, pending=due - 1)


async def test_takes_over_and_gives_back_full_collections():
    before = gc.get_threshold()
    cpu = itertools.count(0, 0)  # the loop's thread seems idle: every check is room
    schedule = FullCollections(check_every=0.01, cpu_clock=lambda: float(next(cpu)))
    schedule.start()
    try:
        assert gc.get_threshold() == (before[0], before[1], NEVER)
        for _ in range(before[2] + 1):
            gc.collect(1)  # what makes a full collection due
        await asyncio.wait_for(schedule.collected.wait(), 10)
        assert schedule.collections == 1
    finally:
        await schedule.stop()
    assert gc.get_threshold() == before
