"""Agents' actions: order, claims, transfer, reopen, snooze, merge, SLA breaches, auto-assign."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from router.config import QueueSettings, SlaSettings
from router.domain.agent_errors import ActionRejected, ConflictError, Forbidden
from router.domain.model import Role, Status
from router.engine.agents import actions
from router.engine.agents.scheduler import Scheduler
from router.store.base import ConversationFilter
from tests.agents.conftest import World, policy


async def waiting(world: World) -> list[int]:
    rows = await world.store.read(lambda tx: tx.list_conversations(
        ConversationFilter(statuses=("queued",), include_snoozed=False, order="urgency"), 100))
    return [c.id for c in rows]


async def test_queue_order_is_priority_then_sla_due_then_age(world):
    ann = await world.agent("ann", role=Role.ADMIN)
    old = await world.message("a")  # general: SLA due in 30 min
    world.clock.advance(minutes=1)
    newer = await world.message("b")
    world.clock.advance(minutes=1)
    no_sla = await world.message("c")
    await world.desk.run(no_sla, actions.transfer, ann, queue="billing")  # billing: no SLA
    urgent = await world.message("d")
    await world.desk.run(urgent, actions.update, ann, priority="urgent")
    assert await waiting(world) == [urgent, old, newer, no_sla]


async def test_two_claims_at_once_one_wins_and_capacity_holds(world):
    ann, bob = await world.agent("ann"), await world.agent("bob", capacity=1)
    cid = await world.message("a")
    results = await asyncio.gather(world.desk.run(cid, actions.claim, ann),
                                   world.desk.run(cid, actions.claim, bob),
                                   return_exceptions=True)
    assert sum(isinstance(r, ConflictError) for r in results) == 1
    other = await world.message("b")
    conv = await world.conv(cid)
    loser = bob if conv.assignee == "ann" else ann
    winner = ann if loser is bob else bob
    if winner is bob:
        with pytest.raises(ConflictError, match="capacity"):
            await world.desk.run(other, actions.claim, bob)
    claimed = await world.events(cid, "assigned")
    assert len(claimed) == 1 and claimed[0].actor == f"agent:{winner.name}"


async def test_reply_sets_first_response_and_goes_to_the_outbox(world):
    ann = await world.agent("ann")
    cid = await world.message("a")
    _, conv = await world.desk.run(cid, actions.reply, ann, text="Hej!")  # claims on the way
    assert conv.status == Status.ASSIGNED and conv.assignee == "ann"
    assert conv.first_response_at == world.clock()

    async def outbox(tx):  # type: ignore[no-untyped-def]
        return tx.c.execute("SELECT payload FROM outbox").fetchall()
    rows = await world.store.read(outbox)
    assert len(rows) == 1 and '"author_kind":"agent"' in rows[0][0]


async def test_a_desk_unit_wakes_this_instance_s_outbox_at_once(world):
    """An agent's reply leaves at once: `Desk.write` wakes the dispatcher itself. The
    console follower, which every commit anywhere wakes, only asks it to look a little
    later (issue 28: a lease round per commit had been a third of all units of work)."""
    woken: list[str] = []
    world.desk.wake_outbox = lambda: woken.append("outbox")
    ann = await world.agent("ann")
    cid = await world.message("a")
    assert woken == []  # a customer message is the pipeline's, not the desk's
    await world.desk.run(cid, actions.reply, ann, text="Hej!")
    assert woken == ["outbox"]


async def test_only_the_assignee_or_an_admin_acts_on_an_assigned_conversation(world):
    ann, bob = await world.agent("ann"), await world.agent("bob")
    boss = await world.agent("boss", role=Role.ADMIN)
    cid = await world.message("a")
    await world.desk.run(cid, actions.claim, ann)
    with pytest.raises(Forbidden):
        await world.desk.run(cid, actions.reply, bob, text="mine now")
    await world.desk.run(cid, actions.note, bob, text="notes are for everyone")
    await world.desk.run(cid, actions.transfer, boss, agent="bob", note_text="bob knows")
    assert (await world.conv(cid)).assignee == "bob"


async def test_transfer_keeps_history_and_frees_the_agent(world):
    ann = await world.agent("ann")
    cid = await world.message("a")
    await world.desk.run(cid, actions.claim, ann)
    await world.desk.run(cid, actions.reply, ann, text="Let me check")
    _, conv = await world.desk.run(cid, actions.transfer, ann, queue="billing", note_text="invoice")
    assert conv.status == Status.QUEUED and conv.queue == "billing" and conv.assignee == ""
    assert conv.first_response_at is not None
    msgs = await world.store.read(lambda tx: tx.list_messages(cid))
    assert [(m.author_kind, m.internal) for m in msgs] == [("customer", False), ("agent", False),
                                                           ("agent", True)]
    [ev] = await world.events(cid, "transferred")
    assert ev.actor == "agent:ann" and ev.data["from_queue"] == "general" and ev.data["note"] == "invoice"
    with pytest.raises(ActionRejected, match="unknown queue"):
        await world.desk.run(cid, actions.transfer, ann, queue="nope")


async def test_customer_message_reopens_within_the_window_only(world):
    ann = await world.agent("ann")
    cid = await world.message("a")
    await world.desk.run(cid, actions.resolve, ann)
    world.clock.advance(hours=2)
    assert await world.message("a") == cid
    conv = await world.conv(cid)
    assert conv.status == Status.QUEUED and conv.resolution_due is not None
    await world.desk.run(cid, actions.resolve, ann)
    world.clock.advance(days=2)
    assert await world.message("a") != cid
    with pytest.raises(ConflictError):
        await world.desk.run(cid, actions.resolve, ann)
    _, conv = await world.desk.run(cid, actions.reopen, ann)
    assert conv.status == Status.QUEUED


async def test_snooze_wakes_on_time_or_on_a_customer_message(world):
    ann = await world.agent("ann")
    a, b = await world.message("a"), await world.message("b")
    for cid in (a, b):
        await world.desk.run(cid, actions.snooze, ann, until=world.clock() + timedelta(hours=1))
    assert await waiting(world) == []
    with pytest.raises(ActionRejected):
        await world.desk.run(a, actions.snooze, ann, until=world.clock() - timedelta(seconds=1))
    await world.message("b")  # the customer writes: b is back
    assert await waiting(world) == [b]
    world.clock.advance(minutes=59)
    assert (await world.scheduler.tick()).woken == []
    world.clock.advance(minutes=1)
    assert (await world.scheduler.tick()).woken == [a]
    assert set(await waiting(world)) == {a, b}
    assert len(await world.events(a, "snooze_ended")) == 1


async def test_sla_breach_fires_once_even_with_two_schedulers(world):
    ann = await world.agent("ann")
    a, b = await world.message("a"), await world.message("b")
    await world.desk.run(b, actions.reply, ann, text="on it")  # b answered in time
    other = Scheduler(world.desk)
    world.clock.advance(minutes=31)
    results = await asyncio.gather(world.scheduler.tick(), other.tick(), world.scheduler.tick())
    assert sum(len(r.breached) for r in results) == 1
    [ev] = await world.events(kind="sla_breached")
    assert ev.conversation_id == a and ev.data["kind"] == "first_response"
    world.clock.advance(hours=4)
    await world.scheduler.tick()
    await world.scheduler.tick()
    kinds = sorted((e.conversation_id, e.data["kind"]) for e in await world.events(kind="sla_breached"))
    assert kinds == [(a, "first_response"), (a, "resolution"), (b, "resolution")]
    conv = await world.conv(a)
    assert conv.view().sla_breached == {"first_response", "resolution"}


async def test_resolution_clock_pauses_while_waiting_on_the_customer(store):
    pausing = QueueSettings(sla=SlaSettings(resolution=timedelta(hours=1), business_hours=False,
                                            pause_when_waiting=True))
    from datetime import UTC, datetime

    from tests.agents.conftest import Clock
    world = World(store, policy(general=pausing), Clock(datetime(2026, 3, 10, 9, tzinfo=UTC)))
    ann = await world.agent("ann")
    cid = await world.message("a")
    world.clock.advance(minutes=10)
    await world.desk.run(cid, actions.reply, ann, text="which order?")
    world.clock.advance(hours=3)  # the customer takes their time: no breach
    assert (await world.scheduler.tick()).breached == []
    await world.message("a", text="order 42")
    conv = await world.conv(cid)
    assert conv.sla_paused_at is None
    assert conv.resolution_due == world.clock() + timedelta(minutes=50)


async def test_merge_moves_identities_and_keeps_every_conversation(world):
    ann = await world.agent("ann", role=Role.ADMIN)
    mail = await world.message("m", sender="ulla@example.com", channel="email")
    chat = await world.message("c", sender="4711", channel="telegram")
    c_mail, c_chat = (await world.conv(mail)).contact_id, (await world.conv(chat)).contact_id
    before = {cid: len(await world.store.read(lambda tx, c=cid: tx.list_messages(c)))
              for cid in (mail, chat)}
    await world.desk.merge_contacts(c_chat, c_mail, ann)
    from router.engine.agents.contacts import contact_detail
    detail = await world.store.read(lambda tx: contact_detail(tx, c_mail))
    assert {i.channel for i in detail.identities} == {"email", "telegram"}
    assert {c.id for c in detail.conversations} == {mail, chat}
    for cid, n in before.items():
        assert len(await world.store.read(lambda tx, c=cid: tx.list_messages(c))) == n
    await world.message("c", sender="4711", channel="telegram")  # still finds the merged contact
    assert (await world.conv(chat)).contact_id == c_mail
    assert len(await world.events(kind="contact_merged")) == 2  # the contact, its conversation


async def test_auto_assign_round_robin_language_and_work_conserving(store):
    from datetime import UTC, datetime

    from tests.agents.conftest import Clock
    world = World(store, policy(general=QueueSettings(auto_assign=True)),
                  Clock(datetime(2026, 3, 10, 9, tzinfo=UTC)))
    await world.agent("ann", capacity=1, online=True, languages=["sv"])
    await world.agent("bob", capacity=1, online=True)
    first = await world.message("a", sender="u1", language="fi")  # only bob speaks any language
    assert (await world.conv(first)).assignee == "bob"
    second = await world.message("b", sender="u2", language="sv")
    assert (await world.conv(second)).assignee == "ann"
    third = await world.message("c", sender="u3")
    assert (await world.conv(third)).status == Status.QUEUED  # everyone is full
    bob = await store.read(lambda tx: tx.get_agent("bob"))
    await world.desk.run(first, actions.resolve, bob)  # frees bob: third goes to him at once
    assert (await world.conv(third)).assignee == "bob"
    await world.desk.set_presence("bob", False)
    world.clock.advance(minutes=16)  # bob left third unanswered past requeue_offline_after
    tick = await world.scheduler.tick()
    assert tick.requeued == [third]
    assert (await world.conv(third)).status == Status.QUEUED
    await world.agent("cid", online=True)
    assert (await world.conv(third)).assignee == "cid"


async def test_an_agent_working_only_through_the_api_keeps_a_fresh_claim(store):
    """Never online (no console, no stream): its claim is not undone by the next tick; it
    counts as offline since it was created, and the assignment must be old enough too."""
    from datetime import UTC, datetime

    from tests.agents.conftest import Clock
    world = World(store, policy(general=QueueSettings()), Clock(datetime(2026, 3, 10, 9, tzinfo=UTC)))
    world.clock.advance(minutes=1)
    api_agent = await world.agent("api")
    world.clock.advance(minutes=30)  # created long ago, never came online
    conv = await world.message("a")
    await world.desk.run(conv, actions.claim, api_agent)
    assert (await world.scheduler.tick()).requeued == []
    assert (await world.conv(conv)).assignee == "api"
    world.clock.advance(minutes=16)  # the claim went unanswered past requeue_offline_after
    assert (await world.scheduler.tick()).requeued == [conv]
