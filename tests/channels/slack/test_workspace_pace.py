"""The agents' workspace follower reads at most once per `FOLLOW_PACE` (issue 28): it is
woken by every commit, and under load it had read after each one, back to back, like
the console's follower before it (tests/web/test_follower_pace.py)."""

from __future__ import annotations

import asyncio
import itertools
from types import SimpleNamespace
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from channels.slack.workspace import Workspace
from router.ports.notify import FOLLOW_PACE, EventNotifier


async def test_the_workspace_follower_reads_at_most_once_per_pace() -> None:
    loop = asyncio.get_running_loop()
    notifier = EventNotifier()
    tools: Any = SimpleNamespace(notifier=notifier)
    workspace = Workspace(client=AsyncWebClient(token="xoxb-unused"), tools=lambda: tools,
                          state=SimpleNamespace(), channel="C1", poll_interval=30.0)  # type: ignore[arg-type]
    reads: list[float] = []
    read_after_commits = asyncio.Event()
    commits_done: list[float] = []

    async def lead() -> bool:
        workspace.leading = True
        return True

    async def catch_up() -> bool:  # a read that found nothing more to do
        reads.append(loop.time())
        if commits_done:
            read_after_commits.set()
        return False

    workspace.lead, workspace.catch_up = lead, catch_up  # type: ignore[method-assign]
    await workspace.start()
    try:
        started = loop.time()
        for _ in range(100):  # commits back to back, each waking the follower
            notifier.notify()
            await asyncio.sleep(0.001)  # commits about that far apart, as under load
        commits_done.append(loop.time())
        await asyncio.wait_for(read_after_commits.wait(), 5)  # it catches up
        gaps = [b - a for a, b in itertools.pairwise(reads)]
        assert all(gap >= FOLLOW_PACE * 0.99 for gap in gaps), gaps
        assert 2 <= len(reads) <= (loop.time() - started) / FOLLOW_PACE + 2 < 100
    finally:
        await workspace.stop()
