"""The customer widget in real Chromium: keyboard use, live replies, reload, injection, embed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from playwright.async_api import expect

from tests.web.conftest import WEBCHAT_SECRET, shot_path

pytestmark = pytest.mark.asyncio(loop_scope="session")
XSS = "<img src=x onerror=alert(1)>"
# WCAG contrast of an element's text against the first opaque background behind it
CONTRAST_JS = """(selector) => {
  const el = document.querySelector(selector);
  const rgb = (c) => c.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((a, v, i) => a + v * [0.2126, 0.7152, 0.0722][i], 0);
  let bg = el;
  while (bg && (getComputedStyle(bg).backgroundColor === "rgba(0, 0, 0, 0)")) bg = bg.parentElement;
  const back = bg ? rgb(getComputedStyle(bg).backgroundColor) : [255, 255, 255];
  const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(back)];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


async def _send(page: Any, text: str) -> None:
    await page.fill("#text", text)
    await page.press("#text", "Enter")


async def test_widget_by_keyboard_with_buttons_reload_and_injection(webchat_service: Any,
                                                                     context: Any) -> None:
    service = await webchat_service()
    page = await context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: dialogs.append(d.message))
    await page.goto(f"http://127.0.0.1:{service.port}/chat")
    await expect(page.locator("body")).to_have_attribute("data-ready", "1")
    await expect(page.locator("html")).to_have_attribute("lang", "sv")  # from the browser
    await expect(page.locator("#text")).to_have_attribute("placeholder", "Skriv ett meddelande…")

    # focus order: language, conversation log, message box, send
    order = []
    for _ in range(4):
        await page.keyboard.press("Tab")
        order.append(await page.evaluate("document.activeElement.id"))
    assert order == ["lang", "log", "text", "send"]

    log = page.locator("#log")
    await page.focus("#text")
    await page.keyboard.type("Hej, jag har en fråga")
    await page.keyboard.press("Enter")
    await expect(log.locator(".msg--bot .body").last).to_have_text("echo: Hej, jag har en fråga")

    await _send(page, XSS)
    await expect(log.locator(".msg--bot .body").last).to_have_text(f"echo: {XSS}")
    await expect(log.locator(".msg--customer .body").last).to_have_text(XSS)
    assert await page.locator("img").count() == 0

    await _send(page, "visa alternativ")
    await expect(page.locator("#quick button")).to_have_text(["Faktura", "Leverans"])
    await page.focus("#text")
    await page.keyboard.press("Shift+Tab")
    await page.keyboard.press("Shift+Tab")
    await expect(page.locator("#quick button").first).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(log.locator(".msg--bot .body").last).to_have_text("Du valde topic:invoice.")
    await expect(page.locator("#quick button")).to_have_count(0)

    adapter = service.channels["webchat"]
    visitor = await page.get_attribute("body", "data-visitor")
    await adapter.notify(visitor, "agent_joined", name="Anna")
    await adapter.notify(visitor, "agent_typing", name="Anna")
    await expect(log.locator(".msg--system").last).to_have_text("Anna anslöt till samtalet")
    await expect(page.locator("#typing")).to_have_text("Anna skriver…")
    await page.screenshot(path=shot_path("chat-desktop"), full_page=True)
    for selector in (".msg--bot .body", ".msg--customer .body", ".msg--system", "#typing",
                     "#chat-title", "#send", "label[for=lang]"):
        ratio = await page.evaluate(CONTRAST_JS, selector)
        assert ratio >= 4.5, f"{selector}: contrast {ratio:.2f} is below WCAG AA"

    texts = await log.locator(".msg .body").all_text_contents()
    await page.reload()
    await expect(page.locator("body")).to_have_attribute("data-ready", "1")
    # the visitor cookie/token kept the conversation; the momentary "joined" line is not history
    await expect(log.locator(".msg .body")).to_have_text([t for t in texts if "Anna" not in t])
    await expect(log.locator(".pending")).to_have_count(0)

    await page.select_option("#lang", "en")
    await expect(page.locator("#text")).to_have_attribute("placeholder", "Write a message…")
    await expect(page.locator("label[for=lang]")).to_have_text("Language")
    await page.set_viewport_size({"width": 390, "height": 780})  # a phone
    await page.screenshot(path=shot_path("chat-phone"))
    assert dialogs == []


@pytest_asyncio.fixture(loop_scope="session")
async def host_site() -> AsyncIterator[dict[str, Any]]:
    """Somebody else's web site (another origin: `localhost` vs `127.0.0.1`) that embeds us."""
    state: dict[str, Any] = {"chat_base": ""}

    async def page(_: web.Request) -> web.Response:
        return web.Response(content_type="text/html", text=(
            "<!doctype html><html lang=en><head><title>Shop</title></head><body>"
            "<h1>Example shop</h1><p>Our products.</p>"
            f'<script src="{state["chat_base"]}/chat/widget.js" data-label="Chatta" async></script>'
            "</body></html>"))

    app = web.Application()
    app.router.add_get("/", page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state["origin"] = f"http://localhost:{port}"
    yield state
    await runner.cleanup()


async def test_embed_snippet_on_another_site(webchat_service: Any, context: Any,
                                             host_site: dict[str, Any]) -> None:
    service = await webchat_service(f"""
        channels:
          webchat: {{secret: {WEBCHAT_SECRET}, allowed_origins: ["{host_site["origin"]}"]}}
    """)
    host_site["chat_base"] = f"http://127.0.0.1:{service.port}"
    page = await context.new_page()
    await page.goto(host_site["origin"] + "/")
    button = page.get_by_role("button", name="Chatta")
    await button.click()
    await expect(button).to_have_attribute("aria-expanded", "true")
    chat = page.frame_locator("#ir-webchat-frame")
    await expect(chat.locator("body")).to_have_attribute("data-ready", "1")
    await chat.locator("#text").fill("Hej från butiken")
    await chat.locator("#text").press("Enter")
    await expect(chat.locator(".msg--bot .body").last).to_have_text("echo: Hej från butiken")
    await page.screenshot(path=shot_path("chat-embedded"))
    await chat.locator("#text").press("Escape")  # closes the widget, focus back on the button
    await expect(button).to_have_attribute("aria-expanded", "false")
    await expect(button).to_be_focused()


async def test_message_written_while_the_server_is_down_is_sent_once_after_restart(
        webchat_service: Any, context: Any) -> None:
    service = await webchat_service()
    port = service.port
    page = await context.new_page()
    await page.goto(f"http://127.0.0.1:{port}/chat")
    await _send(page, "före omstart")
    log = page.locator("#log")
    await expect(log.locator(".msg--bot .body").last).to_have_text("echo: före omstart")

    await service.stop()
    await expect(page.locator("#conn")).to_have_text("Frånkopplad. Ansluter igen…")
    await _send(page, "under omstart")
    await expect(log.locator(".msg--customer.pending .body")).to_have_text("under omstart")

    restarted = await webchat_service(port=port)  # same database, same address
    await expect(log.locator(".msg--bot .body").last).to_have_text("echo: under omstart")
    await expect(log.locator(".pending")).to_have_count(0)
    await expect(log.locator(".msg--customer .body")).to_have_text(["före omstart", "under omstart"])

    async def texts(tx: Any) -> list[str]:
        visitor = await page.get_attribute("body", "data-visitor")
        conv = await tx.find_conversation("webchat", [visitor])
        return [m.text for m in await tx.list_messages(conv.id)]

    assert await restarted.store.read(texts) == ["före omstart", "echo: före omstart",
                                                 "under omstart", "echo: under omstart"]
