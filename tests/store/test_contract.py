"""The store contract, run on SQLite and on PostgreSQL (the `store` fixture is parametrised).

Concurrency cases gather many units at once: on SQLite they share group commits, on
PostgreSQL they run in parallel transactions on pooled connections, which is where
dedupe, claims, leases and breach marks must hold by the database's own guarantees.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest

from router.domain.model import (
    Agent,
    AuthorKind,
    Contact,
    Conversation,
    Direction,
    Event,
    Identity,
    InboundMessage,
    Message,
    OutboxRow,
    OutboxStatus,
    Sender,
    Status,
)
from router.engine.pipeline import Pipeline
from router.store import Store, Tx, utcnow
from router.store.base import ConversationFilter


def inbound(i: int, thread: str = "t", sender: str = "u") -> InboundMessage:
    return InboundMessage("loopback", f"m{i}", thread, Sender(sender), f"text {i}", utcnow())


async def new_conversation(store: Store, thread: str = "t", **kw: object) -> int:
    now = utcnow()

    async def unit(tx: Tx) -> int:
        contact = await tx.create_contact(Contact(0, "c"), now)
        conv = Conversation(0, contact, "loopback", thread, created_at=now, updated_at=now, **kw)
        cid = await tx.create_conversation(conv)
        await tx.add_thread_keys("loopback", [thread], cid)
        return cid

    return await store.write(unit)


async def test_inbox_dedupe_under_concurrency(store: Store):
    now = utcnow()
    won = await asyncio.gather(*(store.write(lambda tx: tx.inbox_claim("x", "k1", now))
                                 for _ in range(20)))
    assert won.count(True) == 1


async def test_deferred_messages_are_accepted_once_and_processed_once(store: Store):
    """acknowledge: stored on either backend: one accept per key; concurrent processing
    of the same accepted message (two instances) stores it once; failures are kept."""
    pipeline = Pipeline(store)
    accepted = await asyncio.gather(*(pipeline.accept(inbound(i % 5, f"t{i % 5}"))
                                      for i in range(20)))
    assert accepted.count(True) == 5
    pending = await store.read(lambda tx: tx.inbox_pending(100))
    assert sorted(e for _, e, _ in pending) == [f"m{i}" for i in range(5)]
    assert await store.read(lambda tx: tx.inbox_counts()) == {"pending": 5, "failed": 0}

    await store.write(lambda tx: tx.inbox_fail("loopback", "m4", "boom"))
    results = await asyncio.gather(*(pipeline.process(inbound(i, f"t{i}"))
                                     for i in range(5) for _ in range(3)))
    stored = [r for r in results if not r.duplicate]
    assert len(stored) == 4 and len({r.message_id for r in stored}) == 4
    assert await store.read(lambda tx: tx.inbox_counts()) == {"pending": 0, "failed": 1}
    assert [(c, e, why) for c, e, _, why in await store.read(lambda tx: tx.inbox_failures(9))] == [
        ("loopback", "m4", "boom")]
    assert await store.write(lambda tx: tx.inbox_retry("loopback")) == 1
    assert not (await pipeline.process(inbound(4, "t4"))).duplicate
    assert await store.read(lambda tx: tx.inbox_pending(100)) == []
    # a processed message's key still dedupes a redelivery
    assert await pipeline.accept(inbound(0, "t0")) is False


async def test_one_thread_one_conversation_and_no_lost_update(store: Store):
    pipeline = Pipeline(store)
    results = await asyncio.gather(*(pipeline.ingest(inbound(i)) for i in range(40)),
                                   *(pipeline.ingest(inbound(i)) for i in range(40)))
    stored = [r for r in results if not r.duplicate]
    assert len(stored) == 40
    assert {r.conversation_id for r in stored} == {stored[0].conversation_id}
    conv = await store.read(lambda tx: tx.get_conversation(stored[0].conversation_id))
    assert conv is not None and conv.message_count == 40 and conv.status == Status.QUEUED
    messages = await store.read(lambda tx: tx.list_messages(conv.id))
    assert sorted(m.external_id for m in messages) == sorted(f"m{i}" for i in range(40))
    identities = await store.read(lambda tx: tx.list_identities(conv.contact_id))
    assert len(identities) == 1


async def test_thread_keys_find_the_newest_conversation(store: Store):
    first = await new_conversation(store, "a")
    second = await new_conversation(store, "b")
    await store.write(lambda tx: tx.add_thread_keys("loopback", ["alias"], first))
    await store.write(lambda tx: tx.add_thread_keys("loopback", ["alias", ""], second))
    found = await store.read(lambda tx: tx.find_conversation("loopback", ["alias"]))
    assert found is not None and found.id == second
    assert await store.read(lambda tx: tx.find_conversation("loopback", ["nope"])) is None


async def test_events_commit_in_id_order_for_a_reader_following_them(store: Store):
    """A reader that resumes after the last id it saw misses nothing (the stream's rule)."""
    cid = await new_conversation(store)
    seen: list[int] = []
    writing = True

    async def writer(w: int) -> None:
        for i in range(15):
            async def unit(tx: Tx, i: int = i) -> None:
                for j in range(3):
                    await tx.insert_event(Event(0, "note", utcnow(), cid, f"w{w}", {"i": i, "j": j}))
            await store.write(unit)

    async def reader() -> None:
        cursor = 0
        while True:
            done = not writing
            batch = await store.read(
                lambda tx, c=cursor: tx.list_events(after_id=c, kinds=["note"]))  # type: ignore[misc]
            seen.extend(e.id for e in batch)
            cursor = batch[-1].id if batch else cursor
            if done and not batch:
                return
            await asyncio.sleep(0)

    follow = asyncio.create_task(reader())
    await asyncio.gather(*(writer(w) for w in range(8)))
    writing = False
    await follow
    every = [e.id for e in await store.read(lambda tx: tx.list_events(kinds=["note"]))]
    assert len(every) == 8 * 15 * 3 and every == sorted(every)
    assert seen == every
    assert await store.read(lambda tx: tx.last_event_id()) == every[-1]


def _row(i: int, thread: str, now) -> OutboxRow:  # type: ignore[no-untyped-def]
    return OutboxRow(0, f"k{i}", "loopback", thread, "u", {"text": f"r{i}"},
                     OutboxStatus.PENDING, 0, now, now)


async def test_outbox_lease_round_is_the_lease_with_its_next_due_time(store: Store):
    """The dispatcher's round (one statement on PostgreSQL): the same rows a lease takes,
    under concurrency never one row twice, and the next due time of what it left."""
    now = utcnow()
    soon = now + timedelta(seconds=5)

    async def add(tx: Tx) -> None:
        for i in range(12):  # four threads, three rows each: one per thread is due
            await tx.outbox_add(_row(i, f"t{i % 4}", now))
        await tx.outbox_add(replace(_row(99, "later", now), next_attempt_at=soon))

    await store.write(add)
    until = now + timedelta(seconds=30)
    rounds = await asyncio.gather(*(store.write(
        lambda tx: tx.outbox_lease_round(now, until, 10, "unreachable:"), one_statement=True)
        for _ in range(5)))
    ids = [r.id for found in rounds for r in found.rows]
    assert len(ids) == len(set(ids)) == 4  # one per thread (order), never one row twice
    assert all(r.attempts == 1 and r.thread_key != "later" for f in rounds for r in f.rows)
    # the rows behind the leased ones are due now; not the leased rows' own lease
    assert {f.next_due for f in rounds if f.rows} == {now}
    assert all(not f.refused for f in rounds)
    leased = await store.read(lambda tx: tx.outbox_list([OutboxStatus.PENDING], limit=20))
    assert sorted(r.id for r in leased if r.attempts == 1) == sorted(ids)

    async def settle(tx: Tx, ids: list[int]) -> None:
        for row_id in ids:
            await tx.outbox_sent(row_id, "", now)

    def lease(limit: int):  # type: ignore[no-untyped-def]
        return store.write(lambda tx: tx.outbox_lease_round(now, until, limit, "unreachable:"),
                           one_statement=True)

    await store.write(lambda tx: settle(tx, ids))
    full = await lease(1)
    assert len(full.rows) == 1 and full.next_due is None  # a full round does not look further
    await store.write(lambda tx: settle(tx, [full.rows[0].id]))
    for _ in range(12):  # send whatever is due until only the later row is left
        found = await lease(10)
        if not found.rows:
            break
        assert found.next_due in (now, soon)  # rows behind the leased ones, else the later
        await store.write(lambda tx, f=found: settle(tx, [r.id for r in f.rows]))
    assert found.rows == [] and found.next_due == soon
    await store.write(lambda tx: tx.outbox_add(_row(100, "t-last", now)))
    last = await lease(10)  # the row it leases is not due again: its lease counts, not `now`
    assert [r.idempotency_key for r in last.rows] == ["k100"] and last.next_due == soon
    # the next round carries its "sent" mark (the dispatcher's marks wait for a round)
    marked = await store.write(lambda tx: tx.outbox_lease_round(
        now, until, 10, "unreachable:", [(last.rows[0].id, "ext-100")]), one_statement=True)
    assert marked.rows == [] and marked.next_due == soon
    row = await store.read(lambda tx: tx.get_outbox(last.rows[0].id))
    assert row is not None and (row.status, row.external_id) == (OutboxStatus.SENT, "ext-100")


async def test_outbox_lease_settle_requeue(store: Store):
    now = utcnow()
    for i in range(12):
        await store.write(lambda tx, i=i: tx.outbox_add(_row(i, f"t{i % 4}", now)))
    until = now + timedelta(seconds=30)
    leases = await asyncio.gather(*(store.write(lambda tx: tx.outbox_lease(now, until, 10))
                                    for _ in range(5)))
    ids = [r.id for batch in leases for r in batch]
    assert len(ids) == len(set(ids)) == 4  # one per thread (order), never one row twice
    assert all(r.attempts == 1 for batch in leases for r in batch)
    assert await store.write(lambda tx: tx.outbox_lease(now, until, 10)) == []
    assert await store.read(lambda tx: tx.outbox_next_due()) == now
    first, second, third = sorted(ids)[:3]
    await store.write(lambda tx: tx.outbox_sent(first, "ext-1", now))
    await store.write(lambda tx: tx.outbox_retry_later(second, now, "busy"))
    await store.write(lambda tx: tx.outbox_give_up(third, OutboxStatus.DEAD, "gone"))
    sent = await store.read(lambda tx: tx.get_outbox(first))
    assert sent is not None and sent.status == OutboxStatus.SENT and sent.external_id == "ext-1"
    later = now + timedelta(seconds=31)  # the fourth lease expired: due again
    again = await store.write(lambda tx: tx.outbox_lease(later, later + timedelta(seconds=30), 10))
    assert second in {r.id for r in again} and third not in {r.id for r in again}
    assert await store.write(lambda tx: tx.outbox_requeue(None, now)) == 1
    dead = await store.read(lambda tx: tx.outbox_list([OutboxStatus.DEAD]))
    assert dead == []
    _, counts = await store.read(lambda tx: tx.metrics_snapshot())
    assert counts == {"sent": 1, "pending": 11}


async def test_concurrent_claims_have_one_winner(store: Store):
    cid = await new_conversation(store, status=Status.QUEUED, queue="general")
    now = utcnow()
    won = await asyncio.gather(*(store.write(lambda tx, a=a: tx.claim_conversation(cid, f"a{a}", now))
                                 for a in range(10)))
    assert won.count(True) == 1
    conv = await store.read(lambda tx: tx.get_conversation(cid))
    assert conv is not None and conv.assignee == f"a{won.index(True)}"


async def test_a_takeover_claims_only_from_the_status_it_names(store: Store):
    bot = await new_conversation(store, "t-bot", status=Status.BOT)
    queued = await new_conversation(store, "t-queued", status=Status.QUEUED, queue="general")
    now = utcnow()
    assert not await store.write(lambda tx: tx.claim_conversation(bot, "ann", now))
    assert not await store.write(
        lambda tx: tx.claim_conversation(queued, "ann", now, from_status="bot"))
    won = await asyncio.gather(*(store.write(
        lambda tx, a=a: tx.claim_conversation(bot, f"a{a}", now, from_status="bot"))
        for a in range(5)))
    assert won.count(True) == 1
    conv = await store.read(lambda tx: tx.get_conversation(bot))
    assert conv is not None and conv.status == Status.ASSIGNED
    assert conv.assignee == f"a{won.index(True)}"


async def test_sla_breach_marked_once(store: Store):
    now = utcnow()
    cid = await new_conversation(store, status=Status.QUEUED, queue="general",
                                 first_response_due=now - timedelta(minutes=1))
    assert await store.read(lambda tx: tx.sla_breach_candidates(now)) == [(cid, "first_response")]
    marked = await asyncio.gather(*(store.write(lambda tx: tx.mark_sla_breach(cid, "first_response", now))
                                    for _ in range(10)))
    assert marked.count(True) == 1
    assert await store.read(lambda tx: tx.sla_breach_candidates(now)) == []


async def test_queue_views_and_metrics(store: Store):
    now = utcnow()
    for i in range(3):
        await new_conversation(store, f"q{i}", status=Status.QUEUED, queue="sales",
                               queued_at=now - timedelta(minutes=i), priority="high" if i else "normal")
    await store.write(lambda tx: tx.upsert_agent(Agent(0, "ann", capacity=2), now))
    assert await store.write(lambda tx: tx.set_agent_online("ann", True, now))
    urgent = await store.read(lambda tx: tx.list_conversations(
        ConversationFilter(queues=("sales",), order="urgency"), 10))
    assert [c.thread_key for c in urgent] == ["q2", "q1", "q0"]
    waiting, _ = await store.read(lambda tx: tx.metrics_snapshot())
    assert waiting["sales"][0] == 3 and waiting["sales"][1] == now - timedelta(minutes=2)
    counts = await store.read(lambda tx: tx.queue_counts())
    assert [(q.queue, q.waiting) for q in counts] == [("sales", 3)]


async def test_a_failing_unit_leaves_nothing(store: Store):
    async def bad(tx: Tx) -> None:
        await tx.create_contact(Contact(0, "ghost"), utcnow())
        await tx.insert_event(Event(0, "ghost", utcnow(), None, "", {}))
        raise ValueError("boom")

    with pytest.raises(ValueError):
        await store.write(bad)
    assert await store.read(lambda tx: tx.list_events(kinds=["ghost"])) == []


async def test_a_save_writes_what_changed_and_leaves_the_rest(store: Store):
    """save_conversation writes only the columns that differ from what was read: a
    column another statement of the unit changed meanwhile is not put back."""
    cid = await new_conversation(store, "partial")
    now = utcnow()

    async def unit(tx: Tx) -> None:
        conv = await tx.get_conversation(cid)
        assert await tx.mark_sla_breach(cid, "first_response", now)  # a direct UPDATE
        conv.message_count += 3
        conv.tags = ["vip"]
        await tx.save_conversation(conv, now)
        await tx.save_conversation(conv, now)  # nothing left to write: no statement error

    await store.write(unit)
    conv = await store.read(lambda tx: tx.get_conversation(cid))
    assert conv.message_count == 3 and conv.tags == ["vip"]
    assert conv.sla_first_breached_at is not None  # not overwritten by the stale object
    assert conv.updated_at == now


async def test_bot_reply_times_are_the_newest_of_the_window_across_conversations(
        store: Store, monkeypatch: pytest.MonkeyPatch):
    """The bots' per-contact rate limit reads them before each decision: bot replies only,
    in any of the contact's conversations, since the given time, newest first, capped; and
    still the newest when the contact has more rows than an unsorted read takes."""
    from router.store import sql_conversations

    now = utcnow()

    async def unit(tx: Tx) -> int:
        contact_id = await tx.create_contact(Contact(0, "c"), now)
        stranger_id = await tx.create_contact(Contact(0, "s"), now)
        first, other, stranger = [
            await tx.create_conversation(Conversation(0, who, "loopback", key, created_at=now,
                                                      updated_at=now))
            for who, key in ((contact_id, "a"), (contact_id, "b"), (stranger_id, "c"))]
        for minutes, conv, author in [(1, first, AuthorKind.BOT), (5, other, AuthorKind.BOT),
                                      (3, first, AuthorKind.BOT), (2, first, AuthorKind.AGENT),
                                      (4, stranger, AuthorKind.BOT), (90, first, AuthorKind.BOT)]:
            await tx.insert_message(Message(0, conv, Direction.OUTBOUND, author, "hi",
                                            now - timedelta(minutes=minutes)))
        return contact_id

    contact_id = await store.write(unit)
    since = now - timedelta(minutes=60)
    times = await store.read(lambda tx: tx.bot_reply_times(contact_id, since))
    assert [round((now - t).total_seconds() / 60) for t in times] == [1, 3, 5]
    capped = await store.read(lambda tx: tx.bot_reply_times(contact_id, since, limit=2))
    assert capped == times[:2]
    monkeypatch.setattr(sql_conversations, "BOT_REPLY_SCAN", 1)  # more rows than a scan takes
    assert await store.read(lambda tx: tx.bot_reply_times(contact_id, since, limit=2)) == capped


async def test_find_sender_reads_what_the_three_lookups_read(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pipeline's first reads in one (PostgreSQL: one round trip): the contact of an
    identity, the newest conversation of the thread keys, the contact's bot replies since
    a time; nothing for an unknown sender or no keys; and the newest bot replies still,
    when the contact has more than an unsorted read takes."""
    from router.store import sql_conversations

    now = utcnow()

    async def unit(tx: Tx) -> int:
        contact_id = await tx.create_contact(Contact(0, "Kund"), now, Identity(
            0, 0, "loopback", "u1", "", "Kund"))
        for key, minutes in (("t-old", 30), ("t-new", 2)):
            conv = await tx.create_conversation(Conversation(
                0, contact_id, "loopback", key, created_at=now, updated_at=now), [key])
            await tx.insert_message(Message(0, conv, Direction.OUTBOUND, AuthorKind.BOT, "hej",
                                            now - timedelta(minutes=minutes)))
        return contact_id

    contact_id = await store.write(unit)
    since = now - timedelta(minutes=60)

    async def both(tx: Tx, keys: list[str]) -> tuple[object, object]:
        found = await tx.find_sender("loopback", "u1", keys, since)
        contact = await tx.find_contact("loopback", "u1")
        conv = await tx.find_conversation("loopback", keys) if keys else None
        return found, (contact, conv, await tx.bot_reply_times(contact_id, since))

    found, separate = await store.write(lambda tx: both(tx, ["t-new", "t-old"]))
    assert (found.contact, found.conversation, found.bot_replies) == separate
    assert found.conversation is not None and found.conversation.thread_key == "t-new"
    assert [round((now - t).total_seconds() / 60) for t in found.bot_replies] == [2, 30]
    found, separate = await store.write(lambda tx: both(tx, []))
    assert found.conversation is None and found.contact == separate[0]
    stranger = await store.write(lambda tx: tx.find_sender("loopback", "u2", ["t-x"], since))
    assert (stranger.contact, stranger.conversation, stranger.bot_replies) == (None, None, None)
    monkeypatch.setattr(sql_conversations, "BOT_REPLY_SCAN", 1)  # more rows than a scan takes
    found = await store.write(lambda tx: tx.find_sender("loopback", "u1", ["t-old"], since))
    assert found.bot_replies == separate[2] and found.conversation is not None
    assert found.conversation.thread_key == "t-old"


async def test_a_one_statement_unit_commits_alone_and_a_second_statement_is_refused(
        store: Store) -> None:
    """`one_statement` units (a webhook's inbox row, a "sent" mark) run without BEGIN and
    COMMIT on PostgreSQL: what they wrote is committed, and a unit that tries a second
    statement, which would not be atomic with the first, gets a StoreError there."""
    from router.domain.errors import StoreError
    from router.store.postgres import PostgresStore

    now = utcnow()
    assert await store.write(lambda tx: tx.inbox_accept("loopback", "a", now, "{}"),
                             one_statement=True)
    assert not await store.write(lambda tx: tx.inbox_accept("loopback", "a", now, "{}"),
                                 one_statement=True)  # a redelivery: nothing inserted

    async def two(tx: Tx) -> None:
        await tx.inbox_accept("loopback", "b", now, "{}")
        await tx.inbox_accept("loopback", "c", now, "{}")

    if isinstance(store, PostgresStore):
        with pytest.raises(StoreError, match="second statement"):
            await store.write(two, one_statement=True)
        expected = {"a", "b"}  # the first statement had committed on its own
    else:  # SQLite: every unit shares its batch's transaction anyway
        await store.write(two, one_statement=True)
        expected = {"a", "b", "c"}
    assert {key for _, key, _ in await store.read(lambda tx: tx.inbox_pending(10))} == expected
