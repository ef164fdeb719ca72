"""Customer widget and agent console in two Chromium contexts, end to end, live both ways."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from router.service import Service
from router.store.base import ConversationFilter
from tests.web.conftest import AGENT_EMAIL, AGENT_PASSWORD, shot_path
from tests.web.test_webchat_browser import CONTRAST_JS

pytestmark = pytest.mark.asyncio(loop_scope="session")
XSS = "<img src=x onerror=alert(1)>"


async def _customer_says(page: Any, text: str) -> None:
    await page.fill("#text", text)
    await page.press("#text", "Enter")


async def _sign_in(page: Any, base: str) -> None:
    await page.goto(f"{base}/console")
    await expect(page.locator("#signin")).to_be_visible()
    await expect(page.locator("#email")).to_be_focused()
    order = []
    for _ in range(3):  # focus order of the form: email, password, token toggle, submit
        await page.keyboard.press("Tab")
        order.append(await page.evaluate("document.activeElement.id || document.activeElement.tagName"))
    assert order == ["password", "SUMMARY", "signin-btn"]
    await page.fill("#email", AGENT_EMAIL)
    await page.fill("#password", "wrong horse battery")
    await page.press("#password", "Enter")
    await expect(page.locator("#signin-error")).to_have_text("wrong email or password (or token)")
    await page.fill("#email", AGENT_EMAIL)
    await page.fill("#password", AGENT_PASSWORD)
    await page.press("#password", "Enter")
    await expect(page.locator("body")).to_have_attribute("data-ready", "1")
    await expect(page.locator("#live")).to_have_text("Live")


async def test_customer_to_agent_and_back_with_csat(console_service: Service, browser: Any) -> None:
    service, base = console_service, f"http://127.0.0.1:{console_service.port}"
    customer_ctx = await browser.new_context(locale="sv-SE", viewport={"width": 480, "height": 800})
    agent_ctx = await browser.new_context(locale="sv-SE", viewport={"width": 1280, "height": 820})
    dialogs: list[str] = []
    try:
        for ctx in (customer_ctx, agent_ctx):
            ctx.set_default_timeout(10_000)
        customer, agent = await customer_ctx.new_page(), await agent_ctx.new_page()
        for page in (customer, agent):
            page.on("dialog", lambda d: dialogs.append(d.message))

        # the customer writes in Swedish and gets the canned welcome, in Swedish
        await customer.goto(f"{base}/chat")
        await expect(customer.locator("body")).to_have_attribute("data-ready", "1")
        chat = customer.locator("#log")
        await _customer_says(customer, "Hej! Jag har en fråga om min beställning.")
        await expect(chat.locator(".msg--bot .body").first).to_contain_text(
            "Tack för att du hör av dig")

        # the agent signs in with email + password; nothing is waiting yet
        await _sign_in(agent, base)
        await expect(agent.locator("#reports-link")).to_be_hidden()  # reports: admins only
        await agent.click("[data-queue=general]")
        await expect(agent.locator("#list-title")).to_have_text("Waiting in general")
        await expect(agent.locator("#convs .conv-item")).to_have_count(0)

        # the customer asks for a human: the conversation appears in the queue, live
        await _customer_says(customer, "Jag vill prata med en människa, tack")
        await expect(chat.locator(".msg--bot .body").last).to_contain_text("Självklart!")
        item = agent.locator("#convs .conv-item")
        await expect(item).to_have_count(1)
        await _customer_says(customer, XSS)
        await expect(item.locator(".badge--unread")).to_have_text("2")  # hand-off + XSS
        await expect(agent.locator("#unread")).to_have_text("2 unread")
        await expect(agent.locator("[data-queue=general] .count")).to_have_text("1")
        await expect(agent.locator("[data-queue=general] .badge--ok")).to_have_text("SLA ok")
        await agent.screenshot(path=shot_path("console-queue"))
        for selector in (".brand", "#list-title", "[data-queue=general] .badge--ok",
                         "#convs .badge--unread", "#convs .sub", "#unread"):
            ratio = await agent.evaluate(CONTRAST_JS, selector)
            assert ratio >= 4.5, (selector, ratio)

        # open it: full history with authorship, channel and language; XSS is text
        await item.click()
        messages = agent.locator("#messages .msg")
        await expect(messages.locator(".body").last).to_have_text(XSS)
        await expect(agent.locator("#conv-meta")).to_contain_text("language sv")
        await expect(agent.locator("#conv-meta")).to_contain_text("Web chat")
        await expect(agent.locator("#messages .msg--customer")).to_have_count(3)
        await expect(agent.locator("#messages .msg--bot").first).to_contain_text("Bot")
        await expect(agent.locator("#unread")).to_be_hidden()
        await expect(agent.locator("#contact-body")).to_contain_text("History (1)")

        # claim (keyboard shortcut c): the customer is told live
        await agent.locator("#messages").focus()
        await agent.keyboard.press("c")
        await expect(agent.locator("#conv-meta")).to_contain_text("assigned to anna")
        await expect(chat.locator(".msg--system").last).to_have_text("Anna Berg anslöt till samtalet")

        # a canned reply, searched and inserted in Swedish, then edited; the customer
        # sees "typing" and then the reply, live
        await agent.keyboard.press("/")
        await agent.keyboard.type("lösenord")
        await expect(agent.locator("#canned-list [data-reply=password]")).to_be_visible()
        await agent.keyboard.press("Enter")
        await expect(agent.locator("#reply")).to_have_value(
            "Du kan byta lösenord själv på https://example.com/account/reset. Fungerar det "
            "inte? Svara här så hjälper vi dig.")
        await agent.keyboard.type(" /Anna")
        await expect(customer.locator("#typing")).to_have_text("Anna Berg skriver…")
        await agent.keyboard.press("Control+Enter")
        await expect(chat.locator(".msg--agent .body").last).to_have_text(
            "Du kan byta lösenord själv på https://example.com/account/reset. Fungerar det "
            "inte? Svara här så hjälper vi dig. /Anna")
        await expect(messages.locator(".body").last).to_contain_text("/Anna")

        # an internal note is shown to agents only
        await agent.keyboard.press("Escape")
        await agent.keyboard.press("n")
        await agent.keyboard.type("Kunden verkar inloggad i fel konto.")
        await agent.keyboard.press("Control+Enter")
        await expect(agent.locator("#messages .msg--note .body")).to_have_text(
            "Kunden verkar inloggad i fel konto.")
        for selector in ("#messages .msg--note .who", "#messages .msg--customer .body",
                         "#messages .msg--agent time", "#conv-meta .chip"):
            ratio = await agent.evaluate(CONTRAST_JS, selector)
            assert ratio >= 4.5, (selector, ratio)

        # resolve: the customer gets the thank-you reply and the CSAT buttons, rates 5
        await agent.click("#resolve")
        await expect(agent.locator("#conv-meta .status")).to_have_text("resolved")
        await expect(agent.locator("#reopen")).to_be_visible()
        await expect(agent.locator("#claim")).to_be_disabled()
        await expect(chat.locator(".msg--system").last).to_have_text("Ärendet är markerat som löst.")
        await expect(customer.locator("#quick button")).to_have_text(["1", "2", "3", "4", "5"])
        await customer.locator("#quick button", has_text="5").click()
        await expect(chat.locator(".msg--bot .body").last).to_have_text("Tack för ditt betyg!")
        assert await customer.locator("img").count() == 0
        assert "Kunden verkar" not in await chat.inner_text()

        (only,) = await service.store.read(
            lambda tx: tx.list_conversations(ConversationFilter(), 5))
        events = await service.store.read(lambda tx: tx.list_events(only.id, kinds=("csat",)))
        assert [(e.data["score"], e.data["via"]) for e in events] == [(5, "button")]

        await expect(messages.locator(".body").last).to_have_text("Tack för ditt betyg!")
        await agent.screenshot(path=shot_path("console-desktop"), full_page=True)
        await customer.screenshot(path=shot_path("console-e2e-customer"), full_page=True)

        # CSRF: the same session without the token (or with a wrong one) is refused
        refused = await agent.evaluate("""async (id) => {
            const plain = await fetch(`/api/v1/conversations/${id}/reopen`, {method: "POST"});
            const wrong = await fetch(`/api/v1/conversations/${id}/reopen`,
                {method: "POST", headers: {"X-CSRF-Token": "guess"}});
            const read = await fetch(`/api/v1/conversations/${id}`);
            return [plain.status, (await plain.json()).error.code, wrong.status, read.status];
        }""", only.id)
        assert refused == [403, "csrf", 403, 200]
        assert (await service.store.read(lambda tx: tx.get_conversation(only.id))).status == "resolved"

        # phone width: one pane at a time, the conversation with a way back to the lists
        await agent.set_viewport_size({"width": 390, "height": 844})
        await expect(agent.locator("#lists")).to_be_hidden()
        await agent.screenshot(path=shot_path("console-phone"))
        await agent.click("#back")
        await expect(agent.locator("#lists")).to_be_visible()
        await expect(agent.locator("#conv")).to_be_hidden()
        assert dialogs == []
    finally:
        await customer_ctx.close()
        await agent_ctx.close()
