"""Fixtures: the stand-in Bot API, Telegram configs, and a helper that posts webhooks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from router.domain.model import Action, Decision, DecisionContext, ReplyContent
from tests.channels.telegram.fake_api import TOKEN, FakeTelegramAPI

PAYLOADS = Path(__file__).parent / "payloads"
SECRET = "s3cret-Token_1"
CHANNEL = "telegram:support"
CANNED = {
    "sv": "Hej! Vi har fått ditt meddelande: {text}",
    "fi": "Hei! Olemme vastaanottaneet viestisi: {text}",
    "nb": "Hei! Vi har mottatt meldingen din: {text}",
    "uk": "Вітаємо! Ми отримали ваше повідомлення: {text}",
    "en": "Hi! We got your message: {text}",
}


def payload(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))


def canned_decide(ctx: DecisionContext) -> Decision:
    """A stand-in for the rules engine: a canned reply in the contact's language that
    quotes the customer's text (so escaping is visible in what is sent)."""
    if ctx.event != "message":
        return Decision()
    lang = ctx.contact.language if ctx.contact.language in CANNED else "en"
    text = CANNED[lang].format(text=ctx.message.text)
    return Decision(actions=[Action("reply", ReplyContent(text=text, language=lang),
                                    source="canned")])


def bot_yaml(api: FakeTelegramAPI, **overrides: Any) -> str:
    """`channels.telegram` for one bot named support, pointed at the stand-in."""
    bot: dict[str, Any] = {
        "name": "support", "token": TOKEN, "mode": "webhook", "webhook_secret": SECRET,
        "api_base": api.base, "username": "support_bot",
        "rate_limits": {"per_chat_per_second": 1000, "per_group_per_minute": 60000,
                        "global_per_second": 1000},
    }
    bot.update(overrides)
    return json.dumps({"channels": {"telegram": {"bots": [bot]}}})


@pytest_asyncio.fixture
async def fake_api() -> AsyncIterator[FakeTelegramAPI]:
    api = FakeTelegramAPI()
    await api.start()
    yield api
    await api.stop()


@pytest.fixture
def tg_service(fake_api, make_config, start_service) -> Callable[..., Any]:
    """Start the real service with one Telegram bot; `decide` defaults to canned replies."""

    async def start(decide: Any = canned_decide, **overrides: Any) -> Any:
        return await start_service(make_config(bot_yaml(fake_api, **overrides)), decide)

    return start


async def post_update(http: aiohttp.ClientSession, service: Any, body: Any, *,
                      secret: str | None = SECRET, bot: str = "support") -> int:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    url = f"http://127.0.0.1:{service.port}/webhooks/telegram/{bot}"
    async with http.post(url, data=data, headers=headers) as resp:
        await resp.read()
        return resp.status


async def scrape_metrics(http: aiohttp.ClientSession, service: Any) -> dict[tuple, float]:
    """The service's `/metrics` as {(sample name, sorted labels): value}, once every
    update acknowledged so far has been processed (messages are parsed then)."""
    from prometheus_client.parser import text_string_to_metric_families

    await service.backlog.drained()
    async with http.get(f"http://127.0.0.1:{service.port}/metrics") as resp:
        text = await resp.text()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def conversation_of(service: Any, chat_id: int | str, channel: str = CHANNEL) -> Any:
    """(conversation, messages) stored for a Telegram chat, or (None, [])."""
    await service.backlog.drained()  # webhooks are processed after their 200

    async def unit(tx: Any) -> Any:
        conv = await tx.find_conversation(channel, [str(chat_id)])
        return conv, (await tx.list_messages(conv.id) if conv else [])

    return await service.store.read(unit)


async def contact_of(service: Any, chat_id: int | str, channel: str = CHANNEL) -> Any:
    await service.backlog.drained()  # webhooks are processed after their 200

    async def unit(tx: Any) -> Any:
        identity = await tx.find_identity(channel, str(chat_id))
        return await tx.get_contact(identity.contact_id) if identity else None

    return await service.store.read(unit)


async def outbox_rows(service: Any) -> list[Any]:
    from router.domain.model import OutboxStatus

    return await service.store.read(lambda tx: tx.outbox_list(list(OutboxStatus), 1000))


class Settled:
    """Records the outbox dispatcher's settle outcomes (sent/retry/failed/dead) so tests
    wait on that event instead of polling the store."""

    def __init__(self, service: Any) -> None:
        self.outcomes: list[tuple[int, str]] = []
        self._changed = asyncio.Event()
        service.dispatcher.on_settled = self._record

    def _record(self, row: Any, outcome: str) -> None:
        self.outcomes.append((row.id, outcome))
        self._changed.set()

    def count(self, outcome: str) -> int:
        return sum(1 for _, o in self.outcomes if o == outcome)

    async def wait_for(self, predicate: Callable[[Settled], bool], timeout: float = 10.0) -> None:
        async def until() -> None:
            while not predicate(self):
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(until(), timeout)
