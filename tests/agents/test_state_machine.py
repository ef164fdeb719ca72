"""Property: no sequence of agent, customer and clock actions leaves an impossible state.

A hypothesis state machine drives a fresh real SQLite store per run; actions that are
refused (409, 403, 400) are fine, what matters is the state after every step.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from router.config import QueueSettings
from router.domain.agent_errors import ActionRejected, ConflictError, Forbidden, NotFoundError
from router.domain.model import AuthorKind, Direction, Status
from router.engine.agents import actions
from router.store.sqlite import SqliteStore
from tests.agents.conftest import SLA_QUEUE, Clock, World, policy

AGENTS = ("ann", "bob", "cid")
REFUSED = (ActionRejected, ConflictError, Forbidden, NotFoundError)
SIMPLE = {"claim": actions.claim, "resolve": actions.resolve, "reopen": actions.reopen}


async def check(world: World) -> None:
    convs = await world.store.read(lambda tx: tx.get_conversations(list(range(1, 20))))
    loads = await world.store.read(lambda tx: tx.agent_loads())
    agents = {a.name: a for a in await world.store.read(lambda tx: tx.list_agents())}
    for name, load in loads.items():
        assert load <= agents[name].capacity, (name, load)
    breaches = await world.events(kind="sla_breached")
    for c in convs:
        assert c.status in set(Status)
        assert c.status != Status.ASSIGNED or c.assignee, c
        assert c.status not in (Status.QUEUED, Status.BOT) or not c.assignee, c  # resolved keeps it
        assert c.status != Status.QUEUED or c.queue
        assert c.status != Status.RESOLVED or c.resolved_at is not None
        assert c.snoozed_until is None or c.status in (Status.QUEUED, Status.ASSIGNED), c
        msgs = await world.store.read(lambda tx, i=c.id: tx.list_messages(i))
        replied = any(m.author_kind == AuthorKind.AGENT and not m.internal
                      and m.direction == Direction.OUTBOUND for m in msgs)
        assert replied == (c.first_response_at is not None)
        firsts = [e for e in breaches if e.conversation_id == c.id
                  and e.data["kind"] == "first_response"]
        assert len(firsts) <= 1
        assert not firsts or c.sla_first_breached_at is not None
    assert all(e.actor for e in await world.events())


class DeskMachine(RuleBasedStateMachine):
    convs = Bundle("convs")

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.tmp = tempfile.TemporaryDirectory()
        self.store = SqliteStore(Path(self.tmp.name) / "router.db")
        self.run(self.store.open())
        self.world = World(self.store, policy(general=SLA_QUEUE,
                                              auto=QueueSettings(auto_assign=True)),
                           Clock(datetime(2026, 3, 10, 9, tzinfo=UTC)))
        for name, cap in zip(AGENTS, (1, 2, 3), strict=True):
            self.run(self.world.agent(name, capacity=cap))
        self.threads: dict[int, str] = {}

    def run(self, coro):  # type: ignore[no-untyped-def]
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.run(self.store.close())
        self.loop.close()
        self.tmp.cleanup()

    def act(self, cid: int, who: str, fn, **kwargs) -> None:  # type: ignore[no-untyped-def]
        agent = self.run(self.store.read(lambda tx: tx.get_agent(who)))
        with contextlib.suppress(*REFUSED):
            self.run(self.world.desk.run(cid, fn, agent, **kwargs))

    @rule(target=convs)
    def new_conversation(self) -> int:
        thread = f"t{len(self.threads)}"
        cid = self.run(self.world.message(thread))
        self.threads[cid] = thread
        return cid

    @rule(cid=convs)
    def customer_writes(self, cid: int) -> None:
        self.run(self.world.message(self.threads[cid]))

    @rule(cid=convs, who=st.sampled_from(AGENTS), kind=st.sampled_from(sorted(SIMPLE)))
    def simple(self, cid: int, who: str, kind: str) -> None:
        self.act(cid, who, SIMPLE[kind])

    @rule(cid=convs, who=st.sampled_from(AGENTS), internal=st.booleans())
    def write(self, cid: int, who: str, internal: bool) -> None:
        self.act(cid, who, actions.note if internal else actions.reply, text="hi")

    @rule(cid=convs, who=st.sampled_from(AGENTS),
          to=st.sampled_from(["general", "auto", "nope", *AGENTS]))
    def transfer(self, cid: int, who: str, to: str) -> None:
        target = {"agent": to} if to in AGENTS else {"queue": to}
        self.act(cid, who, actions.transfer, **target)

    @rule(cid=convs, who=st.sampled_from(AGENTS), minutes=st.integers(-5, 90))
    def snooze(self, cid: int, who: str, minutes: int) -> None:
        self.act(cid, who, actions.snooze, until=self.world.clock() + timedelta(minutes=minutes))

    @rule(cid=convs, who=st.sampled_from(AGENTS),
          priority=st.sampled_from(["low", "normal", "high", "urgent", "bogus"]))
    def prioritise(self, cid: int, who: str, priority: str) -> None:
        self.act(cid, who, actions.update, priority=priority)

    @rule(who=st.sampled_from(AGENTS), online=st.booleans())
    def presence(self, who: str, online: bool) -> None:
        self.run(self.world.desk.set_presence(who, online))

    @rule(minutes=st.integers(0, 120))
    def time_passes(self, minutes: int) -> None:
        self.world.clock.advance(minutes=minutes)
        self.run(self.world.scheduler.tick())

    @invariant()
    def consistent(self) -> None:
        self.run(check(self.world))


DeskMachine.TestCase.settings = settings(
    max_examples=150, stateful_step_count=20, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
test_desk_state_machine = DeskMachine.TestCase
