"""Followers of the events read at most once per `FOLLOW_PACE` (issue 28): woken by every
commit, the console's follower had read the store once per commit under load, one read
after another, more round trips than the messages' own work on three PostgreSQL
instances. A quiet desk still reads at once after a commit."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from router.domain.model import Event
from router.ports.notify import FOLLOW_PACE, EventNotifier, paced
from router.store import Tx, utcnow
from router.store.sqlite import SqliteStore
from router.web.console import signals
from router.web.console.signals import DeskFollower


async def test_pacing_waits_only_after_a_recent_read() -> None:
    loop = asyncio.get_running_loop()
    quiet = paced(loop.time() - 1.0)  # the last read was a second ago: no wait at all
    try:
        quiet.send(None)
    except StopIteration:
        pass
    else:  # pragma: no cover - it suspended
        raise AssertionError("paced() waited although the last read was long ago")
    started = loop.time()
    await paced(started)
    assert loop.time() - started >= FOLLOW_PACE * 0.99


async def test_the_console_follower_reads_at_most_once_per_pace(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "router.db")
    await store.open()
    loop = asyncio.get_running_loop()
    reads: list[float] = []
    read_after_commits = asyncio.Event()
    commits_done: list[float] = []
    real_read = store.read

    async def counted(fn: Any, **kw: Any) -> Any:
        reads.append(loop.time())
        if commits_done:
            read_after_commits.set()
        return await real_read(fn, **kw)

    notifier, follower = _follower(counted)
    await follower.start()
    try:
        started = loop.time()
        for _ in range(100):  # commits back to back, each waking the follower
            await store.write(_event)
            notifier.notify()
        commits_done.append(loop.time())
        await asyncio.wait_for(read_after_commits.wait(), 5)  # it catches up
        follows = reads[1:]  # reads[0] is the start's newest-event lookup
        gaps = [b - a for a, b in itertools.pairwise(follows)]
        assert all(gap >= FOLLOW_PACE * 0.99 for gap in gaps), gaps
        assert len(follows) <= (loop.time() - started) / FOLLOW_PACE + 2 < 100
    finally:
        await follower.stop()
        await store.close()


def _follower(read: Any, listening: Any = None) -> tuple[EventNotifier, DeskFollower]:
    """A console follower whose store reads go through `read`, signalling nobody."""
    async def notify(conv: Any, *what: Any) -> None:
        return None

    notifier = EventNotifier()
    desk = SimpleNamespace(store=SimpleNamespace(read=read), notifier=notifier)
    return notifier, DeskFollower(desk, wake_outbox=lambda: None,  # type: ignore[arg-type]
                                  notify=notify, listening=listening)


async def _event(tx: Tx) -> None:
    await tx.insert_event(Event(0, "message_in", utcnow()))


async def test_without_visitors_the_console_follower_reads_once_per_idle_pace(
        tmp_path: Path, monkeypatch: Any) -> None:
    """Nobody to signal on this instance: reads come `IDLE_PACE` apart, however many
    commits wake it; once a visitor is connected, at `FOLLOW_PACE` again."""
    monkeypatch.setattr(signals, "IDLE_PACE", 0.3)
    store = SqliteStore(tmp_path / "router.db")
    await store.open()
    loop = asyncio.get_running_loop()
    reads: list[float] = []
    visitors = [False]
    real_read = store.read
    read_at_pace = asyncio.Event()

    async def counted(fn: Any, **kw: Any) -> Any:
        reads.append(loop.time())
        if visitors[0] and len(reads) >= 2 and reads[-1] - reads[-2] < 0.3:
            read_at_pace.set()
        return await real_read(fn, **kw)

    notifier, follower = _follower(counted, listening=lambda: visitors[0])
    await follower.start()
    try:
        started = loop.time()
        while loop.time() - started < 0.7:  # commits back to back, each waking it
            await store.write(_event)
            notifier.notify()
        follows = reads[1:]  # reads[0] is the start's newest-event lookup
        gaps = [b - a for a, b in itertools.pairwise(follows)]
        assert follows and all(gap >= 0.3 * 0.99 for gap in gaps), gaps
        assert len(follows) <= 4
        visitors[0] = True  # a widget connects: reads follow commits at `FOLLOW_PACE`
        async with asyncio.timeout(5):
            while not read_at_pace.is_set():
                await store.write(_event)
                notifier.notify()
    finally:
        await follower.stop()
        await store.close()


async def test_a_follower_cancelled_as_it_is_woken_stops() -> None:
    """`cancel_and_wait` on a follower woken in the same moment: on Python 3.11,
    `asyncio.wait_for` returned the wake and lost the cancellation, and the follower's
    stop waited for ever (found by the idle-pace test above)."""
    notifier = EventNotifier()
    waiting = asyncio.create_task(notifier.wait_past(0, 5.0))
    await asyncio.sleep(0)  # one loop turn: it is waiting on the notifier now
    notifier.notify()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
