"""A processing unit leases its own reply and the dispatcher sends it at the commit, with
no lease round between (issue 28, router/engine/reply_claim.py); on both backends. The
dispatcher is never started here, so a send can only come from the hand-over."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from router.domain.model import (
    Conversation,
    InboundMessage,
    OutboundMessage,
    OutboxRow,
    OutboxStatus,
    Sender,
)
from router.engine.outbox import Dispatcher
from router.engine.pipeline import Pipeline
from router.ports.channel import ChannelAdapter, SendResult
from router.ports.channel_host import UNREACHABLE
from router.store.base import Store, Tx, utcnow
from tests.store.replies import answering


def _message(n: int, thread: str = "t1") -> InboundMessage:
    return InboundMessage("loopback", f"m{n}", thread, Sender(f"u-{thread}"),
                          "När har ni öppet?", utcnow())


class _Platform(ChannelAdapter):
    """Records what is sent; `sent` is set by every send."""

    name = "loopback"

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.sent = asyncio.Event()

    async def send(self, message: OutboundMessage) -> SendResult:
        self.texts.append(message.text)
        self.sent.set()
        return SendResult(external_id=f"x{len(self.texts)}")


class _World:
    def __init__(self, store: Store, concurrency: int = 4) -> None:
        self.platform = _Platform()
        self.marked = asyncio.Event()
        self.woken: list[int] = []  # rows left to a lease round, per commit
        self.dispatcher = Dispatcher(store, {"loopback": self.platform},
                                     concurrency=concurrency,
                                     on_settled=lambda row, outcome: self.marked.set())
        # SQLite lets units lease only while its event loop has room; the test's own
        # loop may be busy, and that gate has its own test (test_sqlite_writer.py)
        store.leases_in_unit = lambda: True  # type: ignore[method-assign]
        self.store = store

    def pipeline(self, slots: bool = True, **kw: object) -> Pipeline:
        return Pipeline(store=self.store, decider=lambda: answering,
                        on_commit=lambda rows, _agents: self.woken.append(rows),
                        slots=self.dispatcher if slots else None, **kw)  # type: ignore[arg-type]

    async def rows(self) -> list[OutboxRow]:
        return await self.store.read(lambda tx: tx.outbox_list(list(OutboxStatus)))


async def _process(pipeline: Pipeline, message: InboundMessage) -> None:
    assert await pipeline.accept(message)
    assert not (await pipeline.process(message)).duplicate


async def test_a_reply_leased_by_its_unit_goes_out_at_the_commit(store: Store) -> None:
    world = _World(store)
    await _process(world.pipeline(), _message(1))
    assert world.woken == [0]  # nothing left for a lease round
    await asyncio.wait_for(world.platform.sent.wait(), 10)
    assert world.platform.texts == ["Vi har öppet 9-17."]
    await asyncio.wait_for(world.marked.wait(), 10)  # the mark went in a unit of its own
    [row] = await world.rows()
    assert (row.status, row.attempts, row.external_id) == (OutboxStatus.SENT, 1, "x1")
    assert world.dispatcher._reserved == 0  # the slot was used, not kept


async def test_a_reply_behind_an_older_pending_row_of_its_thread_waits(store: Store) -> None:
    """Per-chat order: the first reply is pending (no dispatcher took it), so the second
    is not leased by its unit; a lease round takes them in order."""
    world = _World(store)
    await _process(world.pipeline(slots=False), _message(1))
    await _process(world.pipeline(), _message(2))
    assert world.woken == [1, 1]
    assert not world.platform.sent.is_set() and world.dispatcher._reserved == 0
    first, second = await world.rows()
    assert first.status == second.status == OutboxStatus.PENDING
    assert first.attempts == second.attempts == 0
    # another thread is not held up by this one
    await _process(world.pipeline(), _message(3, thread="t2"))
    await asyncio.wait_for(world.platform.sent.wait(), 10)
    assert world.woken == [1, 1, 0] and len(world.platform.texts) == 1
    # a lease round sends the first of t1 (the second waits for its mark)
    assert await world.dispatcher.dispatch_due() == 1


async def test_no_free_send_slot_leaves_the_reply_to_a_lease_round(store: Store) -> None:
    world = _World(store, concurrency=1)
    assert world.dispatcher.reserve()  # the one slot is taken
    await _process(world.pipeline(), _message(1))
    assert world.woken == [1] and world.dispatcher._reserved == 1
    [row] = await world.rows()
    assert row.attempts == 0 and not world.platform.sent.is_set()
    world.dispatcher.hand([], reserved=True)
    assert await world.dispatcher.dispatch_due() == 1
    await asyncio.wait_for(world.platform.sent.wait(), 10)


async def test_a_reply_to_an_unreachable_address_is_left_to_a_lease_round(store: Store) -> None:
    """The lease round fails it without a send (tests/router/test_outbox_reachability.py)."""
    world = _World(store)
    await store.write(lambda tx: tx.channel_state_put("loopback", UNREACHABLE + "t1", "blocked",
                                                      None, None, utcnow()))
    await _process(world.pipeline(), _message(1))
    assert world.woken == [1] and world.dispatcher._reserved == 0
    [row] = await world.rows()
    assert row.attempts == 0 and not world.platform.sent.is_set()


async def test_a_unit_that_fails_after_the_lease_gives_the_slot_back(store: Store) -> None:
    world = _World(store)

    async def broken_desk(tx: Tx, conv: Conversation, now: datetime) -> None:
        raise RuntimeError("desk hook failed")  # runs after the reply was leased

    with pytest.raises(RuntimeError):
        await _process(world.pipeline(on_conversation=broken_desk), _message(1))
    assert world.dispatcher._reserved == 0 and world.woken == []
    assert await world.rows() == [] and not world.platform.sent.is_set()

