"""The background tasks' helpers (router/domain/tasks.py)."""

from __future__ import annotations

import asyncio

import pytest

from router.domain.tasks import cancel_and_wait, woken


async def test_woken_says_whether_the_event_came() -> None:
    event = asyncio.Event()
    assert await woken(event, 0.01) is False
    event.set()
    assert await woken(event, 5.0) is True


async def test_a_stop_that_comes_as_the_task_is_woken_is_not_lost() -> None:
    """The agents' scheduler, the backlog and the events' followers sleep in `woken` and
    are stopped by `cancel_and_wait`. With `asyncio.wait_for` (Python 3.11) a wake in the
    same loop turn as the cancellation swallowed it: the loop ran on, the stop never
    returned."""
    event = asyncio.Event()
    rounds = 0

    async def loop_until_stopped() -> None:
        nonlocal rounds
        while True:
            rounds += 1
            event.clear()
            await woken(event, 5.0)

    task = asyncio.create_task(loop_until_stopped())
    await asyncio.sleep(0)  # one loop turn: it sleeps in `woken` now
    event.set()
    await asyncio.wait_for(cancel_and_wait(task), 2.0)
    assert task.cancelled() and rounds <= 2  # the wake may run one round first


async def test_woken_passes_a_cancellation_on() -> None:
    task = asyncio.create_task(woken(asyncio.Event(), 5.0))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
