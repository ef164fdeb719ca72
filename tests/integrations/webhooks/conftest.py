"""A webhook receiver, and a service whose rules answer, hand off and resolve on cue."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from router.config import load_config
from router.domain.model import Action, Decision, DecisionContext, OutboxRow, ReplyContent
from router.service import Service
from tests.conftest import write_config
from tests.integrations.webhooks.receiver import SECRET, WebhookReceiver

SECRET_ENV = "TEST_WEBHOOK_SECRET"


def decide(ctx: DecisionContext) -> Decision:
    """`human` hands off to the general queue; anything else is answered (`bye` resolves)."""
    if ctx.event != "message":
        return Decision()
    text = ctx.message.text
    if "human" in text:
        return Decision(actions=[Action("handoff", {"queue": "general",
                                                   "reason": "customer_request"}, source="ask")])
    actions = [Action("reply", ReplyContent(text=f"echo: {text}"), source="echo")]
    if "bye" in text:
        actions.append(Action("resolve", source="echo"))
    return Decision(actions=actions)


def config_text(url: str, events: str = '["*"]', extra: str = "") -> str:
    return f"""
channels:
  loopback: {{}}
agents:
  anna: {{name: Anna, role: admin}}
webhooks:
  hook:
    url: "{url}"
    secret: "${{{SECRET_ENV}}}"
    events: {events}
{extra}
"""


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    rec = WebhookReceiver()
    await rec.start()
    yield rec
    await rec.stop()
    assert rec.bad == [], rec.bad  # every request verified, whatever the test did


@pytest.fixture
def webhook_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)


@pytest_asyncio.fixture
async def make_service(tmp_path: Path, receiver: WebhookReceiver, webhook_env: None,
                       start_service) -> AsyncIterator[Callable[..., object]]:  # type: ignore[no-untyped-def]
    async def make(extra: str = "", events: str = '["*"]') -> Service:
        config = load_config(write_config(tmp_path, config_text(receiver.url, events, extra)))
        return await start_service(config, decide)  # type: ignore[no-any-return]

    yield make


async def post(service: Service, n: int, text: str, *, sender: str = "ulla",
               thread: str = "t1", email: str = "ulla@example.se") -> None:
    body = {"id": f"m{n}", "thread": thread, "from": sender, "name": sender.title(),
            "email": email, "text": text}
    async with aiohttp.ClientSession() as http, http.post(
            f"http://127.0.0.1:{service.port}/webhooks/loopback", json=body) as resp:
        assert resp.status == 200, await resp.text()


class Outcomes:
    """The outbox's settled webhook rows ("sent", "retry", "failed", "dead"), to wait on:
    chained to the service's own `on_settled` hook."""

    def __init__(self, service: Service) -> None:
        self.seen: list[tuple[int, str]] = []
        self._changed = asyncio.Condition()
        assert service.dispatcher is not None
        own = service.dispatcher.on_settled

        def record(row: OutboxRow, outcome: str) -> None:
            if own is not None:
                own(row, outcome)
            if row.channel == "webhook":
                self.seen.append((row.id, outcome))
                asyncio.get_running_loop().create_task(self._notify())

        service.dispatcher.on_settled = record

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def count(self, outcome: str) -> int:
        return sum(o == outcome for _, o in self.seen)

    async def wait_for(self, predicate: Callable[[Outcomes], bool], timeout: float = 10) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: predicate(self)), timeout)
