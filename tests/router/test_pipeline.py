"""The pipeline stores every message once and answers it once, however it is delivered."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from router.domain.model import (
    Action,
    Decision,
    DecisionContext,
    InboundKind,
    InboundMessage,
    ReplyContent,
    Sender,
    Status,
)
from router.engine.pipeline import Pipeline
from router.store.sqlite import SqliteStore
from tests.conftest import echo_decide


def inbound(ext: str, text: str = "hello", thread: str = "t1", sender: str = "u1",
            **kw: object) -> InboundMessage:
    return InboundMessage(channel="loopback", external_id=ext, thread_key=thread,
                          sender=Sender(external_id=sender, display_name="Ulla Test"),
                          text=text, received_at=datetime.now(UTC), **kw)  # type: ignore[arg-type]


@pytest.fixture
async def store(tmp_path):
    s = SqliteStore(tmp_path / "router.db")
    await s.open()
    yield s
    await s.close()


async def count(store: SqliteStore, sql: str) -> int:
    async def q(tx):
        return tx.c.execute(sql).fetchone()[0]
    return await store.read(q)


async def test_redelivered_sequentially_is_stored_and_answered_once(store):
    pipeline = Pipeline(store, lambda: echo_decide)
    results = [await pipeline.ingest(inbound("m1")) for _ in range(100)]
    assert [r.duplicate for r in results].count(False) == 1
    assert await count(store, "SELECT COUNT(*) FROM messages WHERE direction = 'in'") == 1
    assert await count(store, "SELECT COUNT(*) FROM outbox") == 1


async def test_redelivered_concurrently_is_stored_and_answered_once(store):
    pipeline = Pipeline(store, lambda: echo_decide)
    results = await asyncio.gather(*(pipeline.ingest(inbound("m1")) for _ in range(100)))
    assert sum(not r.duplicate for r in results) == 1
    assert await count(store, "SELECT COUNT(*) FROM messages WHERE direction = 'in'") == 1
    assert await count(store, "SELECT COUNT(*) FROM outbox") == 1
    # group commit: the 100 units did not need 100 commits
    assert store.commits < 100


async def test_same_thread_joins_one_conversation_and_new_thread_opens_another(store):
    pipeline = Pipeline(store, lambda: echo_decide)
    a = await pipeline.ingest(inbound("m1", thread="t1"))
    b = await pipeline.ingest(inbound("m2", thread="t1"))
    c = await pipeline.ingest(inbound("m3", thread="t2"))
    assert a.conversation_id == b.conversation_id != c.conversation_id
    # one contact: same sender identity on the same channel
    assert await count(store, "SELECT COUNT(*) FROM contacts") == 1


async def test_unanswered_message_is_queued_for_agents(store):
    pipeline = Pipeline(store, default_queue="general")
    r = await pipeline.ingest(inbound("m1"))
    conv = await store.read(lambda tx: tx.get_conversation(r.conversation_id))
    assert conv.status == Status.QUEUED and conv.queue == "general"
    events = await store.read(lambda tx: tx.list_events(r.conversation_id))
    assert [e.kind for e in events] == ["conversation_opened", "message_received",
                                       "status_changed", "handoff"]


async def test_automatic_messages_are_stored_but_never_answered(store):
    pipeline = Pipeline(store, lambda: echo_decide)
    await pipeline.ingest(inbound("m1", is_automatic=True))
    await pipeline.ingest(inbound("m2", thread="t2"))
    assert await count(store, "SELECT COUNT(*) FROM messages WHERE direction = 'in'") == 2
    assert await count(store, "SELECT COUNT(*) FROM outbox") == 1  # only the human one


async def test_resolved_conversation_reopens_within_window_and_not_after(store):
    now = [datetime(2026, 1, 5, 10, tzinfo=UTC)]
    resolve = lambda ctx: Decision(actions=[Action("reply", ReplyContent("ok")),  # noqa: E731
                                            Action("resolve")])
    pipeline = Pipeline(store, lambda: resolve, reopen_window=timedelta(days=1),
                        clock=lambda: now[0])
    first = await pipeline.ingest(inbound("m1"))
    now[0] += timedelta(hours=2)
    pipeline.decider = lambda: echo_decide
    again = await pipeline.ingest(inbound("m2"))
    assert again.conversation_id == first.conversation_id
    conv = await store.read(lambda tx: tx.get_conversation(first.conversation_id))
    assert conv.status != Status.RESOLVED
    pipeline.decider = lambda: resolve
    await pipeline.ingest(inbound("m3"))
    now[0] += timedelta(days=2)
    later = await pipeline.ingest(inbound("m4"))
    assert later.conversation_id != first.conversation_id


async def test_edit_updates_the_stored_message(store):
    pipeline = Pipeline(store, lambda: echo_decide)
    r = await pipeline.ingest(inbound("m1", text="helo"))
    await pipeline.ingest(inbound("e1", text="hello", kind=InboundKind.EDIT, edits="m1"))
    msgs = await store.read(lambda tx: tx.list_messages(r.conversation_id))
    inbound_msgs = [m for m in msgs if m.direction == "in"]
    assert [m.text for m in inbound_msgs] == ["hello"] and inbound_msgs[0].edited_at is not None


async def test_a_failing_decision_still_stores_and_queues_the_message(store):
    def broken(ctx: DecisionContext) -> Decision:
        raise RuntimeError("bad rule")
    pipeline = Pipeline(store, lambda: broken)
    r = await pipeline.ingest(inbound("m1"))
    conv = await store.read(lambda tx: tx.get_conversation(r.conversation_id))
    assert conv.status == Status.QUEUED


async def test_a_weak_subject_key_only_joins_a_recent_conversation(store):
    now = [datetime(2026, 3, 2, 9, tzinfo=UTC)]
    pipeline = Pipeline(store, lambda: echo_decide, clock=lambda: now[0])
    weak = ("subject:invoice 42|a@example.com",)
    first = await pipeline.ingest(inbound("m1", thread="mid-1", thread_aliases=weak))
    now[0] += timedelta(days=2)
    near = await pipeline.ingest(inbound("m2", thread="mid-2", thread_aliases=weak))
    assert near.conversation_id == first.conversation_id
    now[0] += timedelta(days=30)
    late = await pipeline.ingest(inbound("m3", thread="mid-3", thread_aliases=weak))
    assert late.conversation_id != first.conversation_id
    # a strong key wins over a weak one pointing elsewhere
    strong = await pipeline.ingest(inbound("m4", thread="mid-1", thread_aliases=weak))
    assert strong.conversation_id == first.conversation_id


async def test_a_button_press_on_a_resolved_conversation_does_not_reopen_it(store):
    resolve = lambda ctx: Decision(actions=[Action("reply", ReplyContent("ok")),  # noqa: E731
                                            Action("resolve")])
    pipeline = Pipeline(store, lambda: resolve)
    first = await pipeline.ingest(inbound("m1"))
    pipeline.decider = lambda: lambda ctx: Decision()
    press = await pipeline.ingest(inbound("cb1", kind=InboundKind.CALLBACK,
                                          callback_data="csat:1:5:sig"))
    assert press.conversation_id == first.conversation_id
    conv = await store.read(lambda tx: tx.get_conversation(first.conversation_id))
    assert conv.status == Status.RESOLVED


async def test_only_units_that_leave_the_bots_wake_the_agents_scheduler(store):
    """A message the bots answered leaves nothing for the desk's scheduler (assignment,
    SLA, snoozes), so its commit does not wake it; one handed to agents does."""
    signals: list[tuple[int, bool]] = []

    def bot_answers(ctx: DecisionContext) -> Decision:
        if "human" in ctx.message.text:
            return Decision(actions=[Action("handoff", "support")])
        return Decision(actions=[Action("reply", ReplyContent("Open 9-17."))])

    pipeline = Pipeline(store, lambda: bot_answers,
                        on_commit=lambda rows, for_agents: signals.append((rows, for_agents)))
    await pipeline.ingest(inbound("m1", "when are you open?"))
    await pipeline.ingest(inbound("m2", "a human please"))
    await pipeline.ingest(inbound("m3", "when are you open?", thread="t2", sender="u2"))
    assert signals == [(1, False), (0, True), (1, False)]
