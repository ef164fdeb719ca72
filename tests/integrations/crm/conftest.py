"""CRM stand-ins, and a service whose rules answer and resolve every message."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest_asyncio

from router.domain.model import Action, Decision, DecisionContext, ReplyContent
from tests.integrations.crm.fakes import FakeHubSpot, FakeSalesforce


@pytest_asyncio.fixture
async def hubspot() -> AsyncIterator[FakeHubSpot]:
    fake = FakeHubSpot()
    await fake.start()
    yield fake
    await fake.stop()


@pytest_asyncio.fixture
async def salesforce() -> AsyncIterator[FakeSalesforce]:
    fake = FakeSalesforce()
    await fake.start()
    yield fake
    await fake.stop()


def answer_and_resolve(ctx: DecisionContext) -> Decision:
    if ctx.event != "message":
        return Decision()
    return Decision(actions=[Action("reply", ReplyContent(text=f"echo: {ctx.message.text}"),
                                    source="test"), Action("resolve", source="test")])


async def post(port: int, *payloads: dict) -> None:
    """POST loopback messages at once (concurrent requests)."""
    async with aiohttp.ClientSession() as http:
        async def one(payload: dict) -> None:
            async with http.post(f"http://127.0.0.1:{port}/webhooks/loopback",
                                 json=payload) as resp:
                assert resp.status == 200, await resp.text()

        await asyncio.gather(*(one(p) for p in payloads))


def customer(n: int, thread: str, *, sender: str = "ulla", email: str = "Ulla@Example.se",
             name: str = "Ulla Berg") -> dict:
    return {"id": f"m{n}", "thread": thread, "from": sender, "name": name, "email": email,
            "text": f"Var är min faktura {n}?"}


class Settled:
    """The outbox's outcomes per route, to wait on (chained to each service's own hook)."""

    def __init__(self, *services) -> None:  # type: ignore[no-untyped-def]
        self.outcomes: list[tuple[str, str]] = []
        self._changed = asyncio.Condition()
        for service in services:
            self._watch(service)

    def _watch(self, service) -> None:  # type: ignore[no-untyped-def]
        own = service.dispatcher.on_settled

        def record(row, outcome: str) -> None:  # type: ignore[no-untyped-def]
            own(row, outcome)
            self.outcomes.append((row.channel, outcome))
            asyncio.get_running_loop().create_task(self._notify())

        service.dispatcher.on_settled = record

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def of(self, route: str) -> list[str]:
        return [o for r, o in self.outcomes if r == route]

    async def until(self, route: str, outcome: str, count: int = 1, timeout: float = 10) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(
                lambda: self.of(route).count(outcome) >= count), timeout)
