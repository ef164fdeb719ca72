"""An agent takes a conversation over from the bot in the console (Chromium), live both ways.

The customer chats in the web chat widget while the bot answers every message; the agent
finds the conversation under "With the bot", takes it over, the customer sees the agent
join, and the bot says nothing to the customer's next message.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import expect

from router.config import load_config
from router.domain.model import AuthorKind
from router.service import Decider, Service
from router.store.base import ConversationFilter
from tests.conftest import write_config
from tests.web.conftest import AGENT_EMAIL, AGENT_PASSWORD, CONSOLE_CONFIG, shot_path

pytestmark = pytest.mark.asyncio(loop_scope="session")

RULES = """
replies:
  bot_answer:  # names the message, so that no answer repeats the last (a repeat is dropped)
    en: "The bot on «{{ message.text }}»: happy to help."
    sv: "Boten om «{{ message.text }}»: jag hjälper gärna till."
rules:
  - name: the bot answers every message
    then: [{reply: bot_answer}]
"""


@pytest_asyncio.fixture(loop_scope="session")
async def bot_service(tmp_path: Path) -> AsyncIterator[Service]:
    """The real service, console and web chat, with rules whose bot answers everything."""
    from router.web.console.passwords import hash_password
    from router.wiring import build_decide

    (tmp_path / "config.d").mkdir()
    (tmp_path / "config.d" / "rules.yaml").write_text(RULES, encoding="utf-8")
    config = load_config(write_config(tmp_path, CONSOLE_CONFIG))
    service = Service(config, decider=Decider(build_decide(config)))
    await service.start(port=0)
    stored = hash_password(AGENT_PASSWORD)
    await service.store.write(lambda tx: tx.set_agent_password("anna", stored))
    yield service
    if not service.state["stopping"]:
        await service.stop()


async def _says(page: Any, text: str) -> None:
    await page.fill("#text", text)
    await page.press("#text", "Enter")


async def test_agent_takes_over_a_bot_held_conversation(bot_service: Service, browser: Any) -> None:
    service, base = bot_service, f"http://127.0.0.1:{bot_service.port}"
    customer_ctx = await browser.new_context(locale="sv-SE", viewport={"width": 480, "height": 800})
    agent_ctx = await browser.new_context(locale="sv-SE", viewport={"width": 1280, "height": 820})
    try:
        for ctx in (customer_ctx, agent_ctx):
            ctx.set_default_timeout(10_000)
        customer, agent = await customer_ctx.new_page(), await agent_ctx.new_page()

        # the customer writes twice; the bot answers each message
        await customer.goto(f"{base}/chat")
        await expect(customer.locator("body")).to_have_attribute("data-ready", "1")
        chat = customer.locator("#log")
        await _says(customer, "Hej! Var hittar jag min faktura?")
        await expect(chat.locator(".msg--bot")).to_have_count(1)
        await _says(customer, "Den kom aldrig fram.")
        await expect(chat.locator(".msg--bot .body").last).to_have_text(
            "Boten om «Den kom aldrig fram.»: jag hjälper gärna till.")

        # the agent signs in and finds it under "With the bot" (shortcut b)
        await agent.goto(f"{base}/console")
        await agent.fill("#email", AGENT_EMAIL)
        await agent.fill("#password", AGENT_PASSWORD)
        await agent.press("#password", "Enter")
        await expect(agent.locator("body")).to_have_attribute("data-ready", "1")
        await expect(agent.locator("#live")).to_have_text("Live")
        await agent.keyboard.press("b")
        await expect(agent.locator("#list-title")).to_have_text("With the bot")
        await expect(agent.locator("#view-bot")).to_have_attribute("aria-current", "true")
        item = agent.locator("#convs .conv-item")
        await expect(item).to_have_count(1)
        await expect(item.locator(".sub")).to_contain_text("bot")
        await item.click()
        messages = agent.locator("#messages")
        await expect(messages.locator(".msg--bot")).to_have_count(2)
        await expect(agent.locator("#conv-meta .status")).to_have_text("bot")
        take = agent.locator("#claim")
        await expect(take).to_have_text("Take over")
        await expect(take).to_be_enabled()
        await expect(agent.locator("#transfer")).to_be_enabled()
        await expect(agent.locator("#reply-label")).to_have_text(
            "Message to the customer (takes over from the bot)")
        await agent.screenshot(path=shot_path("console-takeover-bot"))

        # take over: the conversation is anna's, the customer sees her join, live
        await take.click()
        await expect(agent.locator("#conv-meta")).to_contain_text("assigned to anna")
        await expect(take).to_have_text("Claim")
        await expect(take).to_be_disabled()
        await expect(agent.locator("#action-error")).to_have_text("")
        await expect(chat.locator(".msg--system").last).to_have_text("Anna Berg anslöt till samtalet")
        await expect(agent.locator("#convs-empty")).to_be_visible()  # nothing left with the bot
        await expect(agent.locator("#mine-count")).to_have_text("1")

        # the customer writes again: the agent sees it live; the bot says nothing
        await _says(customer, "Tack! Den är från mars.")
        await expect(messages.locator(".msg--customer")).to_have_count(3)
        await expect(messages.locator(".msg--bot")).to_have_count(2)
        (conv,) = await service.store.read(
            lambda tx: tx.list_conversations(ConversationFilter(), 5))
        stored = await service.store.read(lambda tx: tx.list_messages(conv.id))
        assert [m.author_kind for m in stored] == [
            AuthorKind.CUSTOMER, AuthorKind.BOT, AuthorKind.CUSTOMER, AuthorKind.BOT,
            AuthorKind.CUSTOMER]  # web chat: the "joined" line is the live signal, not a row
        took = await service.store.read(lambda tx: tx.list_events(conv.id,
                                                                  kinds=("agent_took_over",)))
        assert [(e.actor, e.data["via"]) for e in took] == [("agent:anna", "claim")]

        # the agent answers; the customer's chat has no bot bubble after the takeover
        await agent.fill("#reply", "Fakturan ligger under Mina sidor.")
        await agent.press("#reply", "Control+Enter")
        await expect(chat.locator(".msg--agent .body").last).to_have_text(
            "Fakturan ligger under Mina sidor.")
        await expect(chat.locator(".msg--bot")).to_have_count(2)

        # asking for a person while one has the conversation: acknowledged with her name,
        # and highlighted for her (issue 21)
        await _says(customer, "Jag vill prata med en människa")
        await expect(chat.locator(".msg--bot .body").last).to_have_text(
            "Anna Berg har fått veta att du vill prata med en person och svarar dig här.")
        await expect(agent.locator("#conv-meta .wants-human")).to_have_text("asked for a person")
        await agent.locator("#view-mine").click()
        await expect(agent.locator("#convs .conv-item .wants-human")).to_have_count(1)
        await agent.screenshot(path=shot_path("console-takeover-done"), full_page=True)
    finally:
        await customer_ctx.close()
        await agent_ctx.close()
