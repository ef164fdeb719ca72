"""`on: {conversation_idle: X}` rules fire once per level per customer silence."""

from __future__ import annotations

import asyncio
from pathlib import Path

from router.config import load_config
from router.engine.agents.scheduler import Scheduler
from router.service import Decider
from router.wiring import build_decide
from tests.agents.conftest import World
from tests.conftest import write_config

RULES = """
languages: [en]
replies:
  nudge: {en: "Are you still there?"}
  bye: {en: "Closing this for now."}
rules:
  - name: nudge after 30m
    on: {conversation_idle: 30m}
    then: [{reply: nudge}]
  - name: close after 2h
    on: {conversation_idle: 2h}
    then: [{reply: bye}, {resolve: true}]
"""


async def test_idle_levels_fire_once_and_a_new_message_rearms_them(world: World, tmp_path: Path):
    decide = build_decide(load_config(write_config(tmp_path, RULES)))
    scheduler = Scheduler(world.desk, decider=Decider(decide))
    cid = await world.message("t1")

    async def replies() -> list[str]:
        msgs = await world.store.read(lambda tx: tx.list_messages(cid))
        return [m.text for m in msgs if m.direction == "out"]

    world.clock.advance(minutes=20)
    assert (await scheduler.tick()).idle == []
    world.clock.advance(minutes=15)
    assert (await scheduler.tick()).idle == [(cid, 1800.0)]
    assert (await scheduler.tick()).idle == []  # fired once, not on every tick
    assert await replies() == ["Are you still there?"]

    await world.message("t1", text="yes, sorry")  # the customer is back: re-armed
    world.clock.advance(minutes=40)
    assert [level for _, level in (await scheduler.tick()).idle] == [1800.0]
    world.clock.advance(hours=2)
    assert [level for _, level in (await scheduler.tick()).idle] == [7200.0]
    assert (await replies())[-1] == "Closing this for now."
    assert (await world.conv(cid)).status == "resolved"


async def test_with_idle_rules_the_scheduler_polls_without_being_woken(world: World,
                                                                        tmp_path: Path):
    """Commits of bot-held conversations do not wake the scheduler, so with idle rules it
    looks every `idle_poll` seconds by itself; without them it sleeps to its next deadline."""
    decide = build_decide(load_config(write_config(tmp_path, RULES)))
    ticked = asyncio.Event()
    polling = Scheduler(world.desk, decider=Decider(decide), idle_poll=0.01)
    sleeping = Scheduler(world.desk, idle_poll=0.01)  # no rules: no idle thresholds
    counts = {polling: 0, sleeping: 0}

    def counting(scheduler: Scheduler):  # type: ignore[no-untyped-def]
        tick = scheduler.tick

        async def counted():  # type: ignore[no-untyped-def]
            counts[scheduler] += 1
            if counts[polling] >= 3:
                ticked.set()
            return await tick()
        return counted

    for scheduler in counts:
        scheduler.tick = counting(scheduler)  # type: ignore[method-assign]
        scheduler.start()
    try:
        await asyncio.wait_for(ticked.wait(), 10)  # three ticks, nothing woke it
        assert counts[sleeping] <= 1  # its first tick only: it sleeps up to 30 s
    finally:
        await polling.stop()
        await sleeping.stop()
