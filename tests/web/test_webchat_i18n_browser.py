"""The widget in the visitor's language, in real Chromium: a Swedish and a Ukrainian
browser, the language switcher, a change of the browser's languages, the embed button."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from playwright.async_api import expect

from tests.web.conftest import WEBCHAT_SECRET, shot_path

pytestmark = pytest.mark.asyncio(loop_scope="session")
CONFIG = """
channels:
  webchat:
    secret: {secret}
    title: {{sv: Exempel AB kundtjänst, en: Example Ltd support}}
    allowed_origins: ["{shop}"]
    max_text: 20
"""
#: the page's visible text and the labels screen readers speak, minus what people wrote
#: and the switcher (whose options name each language in that language)
INTERFACE_TEXT_JS = """() => {
  const page = document.body.cloneNode(true);
  page.querySelectorAll(".msg:not(.msg--system) .body, select").forEach((el) => el.remove());
  const labels = [...document.querySelectorAll("[aria-label], [placeholder]")]
    .map((el) => `${el.getAttribute("aria-label") || ""} ${el.getAttribute("placeholder") || ""}`);
  return [document.title, page.textContent, ...labels].join(" ");
}"""


@pytest_asyncio.fixture(loop_scope="session")
async def ukrainian(browser: Any) -> AsyncIterator[Any]:
    ctx = await browser.new_context(locale="uk-UA", viewport={"width": 1000, "height": 720})
    ctx.set_default_timeout(10_000)
    yield ctx
    await ctx.close()


@pytest_asyncio.fixture(loop_scope="session")
async def shop() -> AsyncIterator[dict[str, Any]]:
    """A Ukrainian site on another origin (`localhost`, the chat is on `127.0.0.1`) that
    embeds the widget with the plain snippet (no data-label)."""
    state: dict[str, Any] = {}

    async def page(_: web.Request) -> web.Response:
        return web.Response(content_type="text/html", text=(
            "<!doctype html><html lang=uk><head><title>Крамниця</title></head><body>"
            f'<h1>Крамниця</h1><script src="{state["chat"]}/chat/widget.js" async></script>'
            "</body></html>"))

    app = web.Application()
    app.router.add_get("/", page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state["origin"] = f"http://localhost:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    yield state
    await runner.cleanup()


async def test_swedish_browser_gets_every_string_in_swedish_and_the_switcher_changes_them(
        webchat_service: Any, context: Any) -> None:
    service = await webchat_service(CONFIG.format(secret=WEBCHAT_SECRET, shop="http://shop.test"))
    page = await context.new_page()  # locale sv-SE
    response = await page.goto(f"http://127.0.0.1:{service.port}/chat")
    # right in the HTML already (Accept-Language), before any script ran
    assert '<h1 id="chat-title" data-i18n="title">Exempel AB kundtjänst</h1>' in await response.text()
    await expect(page.locator("body")).to_have_attribute("data-ready", "1")
    await expect(page).to_have_title("Exempel AB kundtjänst")
    await expect(page.locator("#chat-title")).to_have_text("Exempel AB kundtjänst")
    await expect(page.locator("html")).to_have_attribute("lang", "sv")
    await expect(page.locator("#lang")).to_have_value("sv")
    await expect(page.locator("label[for=lang]")).to_have_text("Språk")
    await expect(page.locator("label[for=text]")).to_have_text("Ditt meddelande")
    await expect(page.locator("#text")).to_have_attribute("placeholder", "Skriv ett meddelande…")
    await expect(page.locator("#send")).to_have_text("Skicka")
    await expect(page.locator("#log")).to_have_attribute("aria-label", "Konversation")
    await expect(page.locator("#quick")).to_have_attribute("aria-label", "Föreslagna svar")

    log = page.locator("#log")
    await page.fill("#text", "Hej!")
    await page.press("#text", "Enter")
    await expect(log.locator(".msg--bot .body")).to_have_text(["echo: Hej!"])
    await expect(log.locator(".msg .who")).to_have_text(["Du", "Assistent"])
    adapter = service.channels["webchat"]
    visitor = await page.get_attribute("body", "data-visitor")
    await adapter.notify(visitor, "agent_joined", name="Anna")
    await adapter.notify(visitor, "agent_joined")  # an agent without a display name
    await adapter.notify(visitor, "agent_typing", name="Anna")
    await expect(log.locator(".msg--system")).to_have_text(["Anna anslöt till samtalet",
                                                            "Handläggare anslöt till samtalet"])
    await expect(page.locator("#typing")).to_have_text("Anna skriver…")
    await page.fill("#text", "ett alldeles för långt meddelande")  # max_text: 20
    await page.press("#text", "Enter")
    await expect(page.locator("#conn")).to_have_text("Meddelandet är för långt: högst 20 tecken")
    await page.screenshot(path=shot_path("chat-swedish"), full_page=True)

    # the switcher: everything already on screen follows, the admin's title where given
    await page.select_option("#lang", "fi")
    await expect(page.locator("#chat-title")).to_have_text("Keskustele kanssamme")  # built-in
    await expect(page).to_have_title("Keskustele kanssamme")
    await expect(page.locator("html")).to_have_attribute("lang", "fi")
    await expect(page.locator("label[for=lang]")).to_have_text("Kieli")
    await expect(page.locator("#text")).to_have_attribute("placeholder", "Kirjoita viesti…")
    await expect(page.locator("#send")).to_have_text("Lähetä")
    await expect(log.locator(".msg .who")).to_have_text(["Sinä", "Avustaja"])
    await expect(log.locator(".msg--system")).to_have_text(["Anna liittyi keskusteluun",
                                                            "Asiakaspalvelija liittyi keskusteluun"])
    await expect(page.locator("#typing")).to_have_text("Anna kirjoittaa…")
    await expect(page.locator("#conn")).to_have_text("Viesti on liian pitkä: enintään 20 merkkiä")
    await page.select_option("#lang", "en")
    await expect(page.locator("#chat-title")).to_have_text("Example Ltd support")
    await expect(page.locator("#send")).to_have_text("Send")

    await page.reload()  # the pick is kept over the browser's language
    await expect(page.locator("body")).to_have_attribute("data-ready", "1")
    await expect(page.locator("#chat-title")).to_have_text("Example Ltd support")
    await page.select_option("#lang", "sv")
    await service.stop()
    await expect(page.locator("#conn")).to_have_text("Frånkopplad. Ansluter igen…")


async def test_ukrainian_browser_on_an_embedding_site(webchat_service: Any, ukrainian: Any,
                                                    shop: dict[str, Any]) -> None:
    service = await webchat_service(CONFIG.format(secret=WEBCHAT_SECRET, shop=shop["origin"]))
    shop["chat"] = f"http://127.0.0.1:{service.port}"
    page = await ukrainian.new_page()
    await page.goto(shop["origin"] + "/")
    button = page.locator("button[aria-controls=ir-webchat-frame]")
    await expect(button).to_have_text("Напишіть нам")
    await button.click()
    chat = page.frame_locator("#ir-webchat-frame")
    await expect(chat.locator("body")).to_have_attribute("data-ready", "1")
    await expect(chat.locator("#chat-title")).to_have_text("Напишіть нам")  # no uk title: built-in
    await expect(chat.locator("label[for=lang]")).to_have_text("Мова")
    await expect(chat.locator("#text")).to_have_attribute("placeholder", "Напишіть повідомлення…")
    await expect(chat.locator("#send")).to_have_text("Надіслати")
    await expect(chat.locator("#close")).to_have_attribute("aria-label", "Закрити чат")
    await chat.locator("#text").fill("Привіт!")
    await chat.locator("#text").press("Enter")
    await expect(chat.locator(".msg--bot .body")).to_have_text(["echo: Привіт!"])
    await expect(chat.locator(".msg .who")).to_have_text(["Ви", "Помічник"])
    visitor = await chat.locator("body").get_attribute("data-visitor")
    await service.channels["webchat"].notify(visitor, "agent_joined", name="Olena")
    await expect(chat.locator(".msg--system")).to_have_text(["Olena приєднується до розмови"])
    frame = page.frame(url=lambda url: "/chat?embed=1" in url)
    interface = (await frame.evaluate(INTERFACE_TEXT_JS)).replace("Olena", "")
    assert not [w for w in interface.split() if any("a" <= c.lower() <= "z" for c in w)], interface
    await page.screenshot(path=shot_path("chat-ukrainian-embedded"))

    # the browser's languages change: the chat and the button follow (no pick made yet)
    await frame.evaluate("""() => {
      Object.defineProperty(navigator, "languages", { get: () => ["nb-NO", "nb"] });
      window.dispatchEvent(new Event("languagechange"));
    }""")
    await expect(chat.locator("#chat-title")).to_have_text("Chat med oss")
    await expect(chat.locator("#send")).to_have_text("Send")
    await expect(chat.locator(".msg--system")).to_have_text(["Olena ble med i samtalen"])
    await expect(button).to_have_text("Chat med oss")
    # a pick in the switcher: the admin's Swedish title, and the button follows it too
    await chat.locator("#lang").select_option("sv")
    await expect(chat.locator("#chat-title")).to_have_text("Exempel AB kundtjänst")
    await expect(chat.locator("#text")).to_have_attribute("placeholder", "Skriv ett meddelande…")
    await expect(button).to_have_text("Chatta med oss")
