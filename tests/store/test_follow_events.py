"""`Tx.follow_events`: a follower of a few kinds of events reads on from the newest event,
not from the last one of its kinds (issue 28: the console's follower, woken by every
commit, re-read every event since start-up each time while no conversation reached an
agent: thousands of rows per message on PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from router.domain.model import Event
from router.store import Store, Tx, utcnow
from router.web.console.signals import KINDS


async def _events(store: Store, *kinds: str) -> list[int]:
    """Their ids (PostgreSQL numbers events as the unit commits)."""
    async def unit(tx: Tx) -> None:
        for kind in kinds:
            await tx.insert_event(Event(0, kind, utcnow(), actor="test"))
    await store.write(unit)
    newest = await store.read(lambda tx: tx.list_events(limit=100_000))
    return [e.id for e in newest[-len(kinds):]]


async def test_the_cursor_moves_past_the_kinds_not_followed(store: Store) -> None:
    ids = await _events(store, "message_in", "message_out", "assigned", "message_in", "tagged")
    events, cursor = await store.read(lambda tx: tx.follow_events(0, KINDS, 500))
    assert [e.id for e in events] == [ids[2]] and cursor == ids[-1]
    assert (events[0].kind, events[0].actor, events[0].data) == ("assigned", "test", {})
    # nothing new: the same cursor, nothing returned
    assert await store.read(lambda tx: tx.follow_events(cursor, KINDS, 500)) == ([], cursor)
    more = await _events(store, "message_in", "message_out")
    assert await store.read(lambda tx: tx.follow_events(cursor, KINDS, 500)) == ([], more[-1])


async def test_a_follow_is_one_statement(store: Store) -> None:
    """The newest id and the list in one statement, read with no transaction around it
    (PostgreSQL refuses a one-statement read's second statement): what a follower woken
    by every commit costs, one round trip (issue 28)."""
    def follow(cursor: int, limit: int = 500) -> Awaitable[tuple[list[Event], int]]:
        return store.read(lambda tx: tx.follow_events(cursor, KINDS, limit), one_statement=True)

    assert await follow(0) == ([], 0)  # an empty table
    ids = await _events(store, "message_in", "resolved", "message_out")
    events, cursor = await follow(0)
    assert [(e.id, e.kind) for e in events] == [(ids[1], "resolved")] and cursor == ids[2]
    assert await follow(cursor) == ([], cursor)
    ids = await _events(store, "transferred", "assigned")
    events, cursor = await follow(cursor, 1)
    assert [e.id for e in events] == [ids[0]] and cursor == ids[0]


async def test_a_full_batch_stops_at_its_last_event(store: Store) -> None:
    ids = await _events(store, "assigned", "message_in", "resolved", "message_in", "transferred")
    events, cursor = await store.read(lambda tx: tx.follow_events(0, KINDS, 2))
    assert [e.id for e in events] == [ids[0], ids[2]] and cursor == ids[2]
    events, cursor = await store.read(lambda tx: tx.follow_events(cursor, KINDS, 2))
    assert [e.id for e in events] == [ids[4]] and cursor == ids[4]


async def test_events_committed_meanwhile_are_not_skipped(store: Store) -> None:
    """Writers commit while followers read: every event of the followed kinds is
    returned once, in order, whatever interleaving."""
    async def writer() -> None:
        for i in range(60):
            await _events(store, "message_in", "assigned" if i % 3 else "tagged")

    seen: list[int] = []

    async def follower() -> None:
        cursor = 0
        while not task.done() or cursor < await store.read(lambda tx: tx.last_event_id()):
            events, cursor = await store.read(lambda tx, c=cursor: tx.follow_events(c, KINDS, 7),
                                              one_statement=True)
            seen.extend(e.id for e in events)
            await asyncio.sleep(0)

    task = asyncio.create_task(writer())
    await asyncio.gather(task, follower())
    wanted = await store.read(lambda tx: tx.list_events(kinds=KINDS, limit=10_000))
    assert seen == [e.id for e in wanted] and len(seen) == 40
