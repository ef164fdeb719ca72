"""A real SQLite store, a settable clock, and a desk with the pipeline hooked in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest_asyncio

from router.config import QueueSettings, SlaSettings
from router.domain.model import Agent, InboundMessage, Role, Sender
from router.engine.agents.desk import Desk
from router.engine.agents.policy import DeskPolicy
from router.engine.agents.scheduler import Scheduler
from router.engine.pipeline import Pipeline
from router.store.sqlite import SqliteStore


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


class World:
    """Store + desk + pipeline + scheduler sharing one clock."""

    def __init__(self, store: SqliteStore, policy: DeskPolicy, clock: Clock) -> None:
        self.store, self.clock = store, clock
        self.desk = Desk(store, policy, clock=clock)
        self.pipeline = Pipeline(store, clock=clock, on_conversation=self.desk.on_conversation,
                                 reopen_window=timedelta(days=1))
        self.scheduler = Scheduler(self.desk)
        self.n = 0

    async def message(self, thread: str = "t1", *, sender: str = "u1", text: str = "hi",
                      channel: str = "loopback", language: str = "") -> int:
        self.n += 1
        r = await self.pipeline.ingest(InboundMessage(
            channel=channel, external_id=f"m{self.n}", thread_key=thread,
            sender=Sender(external_id=sender, display_name="Ulla", language_hint=language),
            text=text, received_at=self.clock()))
        assert r.conversation_id is not None
        return r.conversation_id

    async def agent(self, name: str, *, capacity: int = 5, role: Role = Role.AGENT,
                    languages: list[str] | None = None, online: bool = False) -> Agent:
        agent = Agent(0, name, display_name=name.title(), role=role, capacity=capacity,
                      languages=languages or [])
        await self.store.write(lambda tx: tx.upsert_agent(agent, self.clock()))
        if online:
            await self.desk.set_presence(name, True)
        got = await self.store.read(lambda tx: tx.get_agent(name))
        assert got is not None
        return got

    async def conv(self, cid: int):  # type: ignore[no-untyped-def]
        return await self.store.read(lambda tx: tx.get_conversation(cid))

    async def events(self, cid: int | None = None, kind: str = "") -> list:  # type: ignore[type-arg]
        evs = await self.store.read(lambda tx: tx.list_events(cid, kinds=(kind,) if kind else ()))
        return evs


def policy(**queues: QueueSettings) -> DeskPolicy:
    return DeskPolicy(queues=queues or {"general": QueueSettings()})


SLA_QUEUE = QueueSettings(sla=SlaSettings(first_response=timedelta(minutes=30),
                                          resolution=timedelta(hours=4), business_hours=False))


@pytest_asyncio.fixture
async def store(sqlite_store: SqliteStore) -> SqliteStore:
    return sqlite_store


@pytest_asyncio.fixture
async def world(store: SqliteStore) -> World:
    return World(store, policy(general=SLA_QUEUE, billing=QueueSettings()),
                 Clock(datetime(2026, 3, 10, 9, tzinfo=UTC)))
