"""Contacts, triage and macros in Chromium, end to end (issue 24).

- A visitor fills in the web chat's pre-chat form; the agent sees the name and email,
  edits the contact, and an admin merges the visitor's contact with the customer's known
  one after a preview: the history links up.
- A customer signed in on the embedding site chats through the widget with a signed
  identity and lands on their known contact.
- An agent writes a macro with variables in the console and sends it: the customer gets
  it in the conversation's language with the names filled in; tags, priority, snooze and
  the follow-up date set from the console by keyboard show up via the API.

Screenshots go to each test's tmp dir.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from playwright.async_api import expect

from channels.webchat import identity
from router.config import load_config
from router.domain.model import InboundMessage, Sender
from router.engine.agents import auth
from router.service import Decider, Service
from tests.conftest import ROOT, write_config
from tests.web.conftest import AGENT_EMAIL, AGENT_PASSWORD, CONSOLE_RULES, WEBCHAT_SECRET

pytestmark = pytest.mark.asyncio(loop_scope="session")
SITE_KEY = "shop-signing-key-0123456789abcdef"
ADMIN_EMAIL = "maja@example.com"
CONFIG = f"""
service: {{name: Exempel AB}}
channels:
  webchat:
    secret: {WEBCHAT_SECRET}
    identity_secret: {SITE_KEY}
    prechat: {{fields: [name, email], required: [email]}}
    allowed_origins: ["{{origin}}"]
  loopback: {{}}
queues:
  general: {{description: Everything else, sla: {{first_response: 30m, business_hours: false}}}}
agents:
  anna: {{name: Anna Berg, email: {AGENT_EMAIL}, languages: [sv, en]}}
  maja: {{name: Maja Admin, email: {ADMIN_EMAIL}, role: admin}}
languages: [sv, fi, nb, uk, en]
default_language: en
include: [config.d/*.yaml]
"""


@pytest_asyncio.fixture(loop_scope="session")
async def shop() -> AsyncIterator[dict[str, Any]]:
    """The embedding site on another origin; its server signs who is signed in."""
    state: dict[str, Any] = {"chat": "", "identity": ""}

    async def page(_: web.Request) -> web.Response:
        return web.Response(content_type="text/html", text=(
            "<!doctype html><html lang=sv><head><title>Butik</title></head><body><h1>Butik</h1>"
            f'<script src="{state["chat"]}/chat/widget.js" data-identity="{state["identity"]}" '
            "async></script></body></html>"))

    app = web.Application()
    app.router.add_get("/", page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state["origin"] = f"http://localhost:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    yield state
    await runner.cleanup()


@pytest_asyncio.fixture(loop_scope="session")
async def desk(tmp_path: Path, shop: dict[str, Any]) -> AsyncIterator[Service]:
    from router.web.console.passwords import hash_password
    from router.wiring import build_decide

    (tmp_path / "config.d").mkdir()
    (tmp_path / "config.d" / "replies.yaml").write_text(
        (ROOT / "config.d" / "replies.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "config.d" / "rules.yaml").write_text(CONSOLE_RULES, encoding="utf-8")
    config = load_config(write_config(tmp_path, CONFIG.replace("{origin}", shop["origin"])))
    service = Service(config, decider=Decider(build_decide(config)))
    await service.start(port=0)
    stored = hash_password(AGENT_PASSWORD)
    for name in ("anna", "maja"):
        await service.store.write(lambda tx, name=name: tx.set_agent_password(name, stored))
    shop["chat"] = f"http://127.0.0.1:{service.port}"
    yield service
    if not service.state["stopping"]:
        await service.stop()


class Api:
    """The agents' API with a bearer token: what the console did, seen from outside."""

    def __init__(self, service: Service, http: aiohttp.ClientSession, token: str) -> None:
        self.base, self.http = f"http://127.0.0.1:{service.port}/api/v1", http
        self.headers = {"Authorization": f"Bearer {token}"}

    async def get(self, path: str) -> Any:
        async with self.http.get(self.base + path, headers=self.headers) as r:
            assert r.status == 200, await r.text()
            return await r.json()


@pytest_asyncio.fixture(loop_scope="session")
async def api(desk: Service) -> AsyncIterator[Api]:
    token = await desk.store.write(lambda tx: auth.issue_token(tx, "maja", datetime.now(UTC)))
    async with aiohttp.ClientSession() as http:
        yield Api(desk, http, token)


async def _known_customer(service: Service, text: str = "Hej! En fråga om min beställning.") -> int:
    """Ulla, known by email from an earlier conversation (the loopback channel)."""
    result = await service.intake(InboundMessage(
        "loopback", f"mail-{time.monotonic_ns()}", f"thread-{time.monotonic_ns()}",
        Sender("ulla@example.se", "Ulla Svensson", email="ulla@example.se"), text,
        datetime.now(UTC)))
    assert result.conversation_id is not None
    return result.conversation_id


async def _agent(browser: Any, base: str, email: str) -> tuple[Any, Any]:
    ctx = await browser.new_context(locale="sv-SE", viewport={"width": 1280, "height": 860})
    ctx.set_default_timeout(10_000)
    page = await ctx.new_page()
    await page.goto(f"{base}/console")
    await page.fill("#email", email)
    await page.fill("#password", AGENT_PASSWORD)
    await page.press("#password", "Enter")
    await expect(page.locator("body")).to_have_attribute("data-ready", "1")
    return ctx, page


async def _open(page: Any, cid: int) -> None:
    await page.click("[data-queue=general]")
    await page.click(f'#convs .conv-item[data-id="{cid}"]')
    await expect(page.locator("#conv-title")).to_contain_text(f"#{cid}")


async def test_prechat_visitor_edited_and_merged_into_history(desk: Service, api: Api,
                                                              browser: Any, tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{desk.port}"
    earlier = await _known_customer(desk)
    customer_ctx = await browser.new_context(locale="sv-SE", viewport={"width": 420, "height": 760})
    customer_ctx.set_default_timeout(10_000)
    try:
        # the pre-chat form comes first; the email is required and checked
        customer = await customer_ctx.new_page()
        await customer.goto(f"{base}/chat")
        await expect(customer.locator("body")).to_have_attribute("data-prechat", "open")
        await expect(customer.locator("#compose")).to_be_hidden()
        await expect(customer.locator("#prechat-name")).to_be_focused()
        await customer.fill("#prechat-name", "Ulla S")
        await customer.click("#prechat-start")
        await expect(customer.locator("#prechat-email-error")).to_have_text("Fyll i det här")
        await customer.fill("#prechat-email", "ulla@example.se")
        await customer.screenshot(path=str(tmp_path / "prechat-form.png"))
        await customer.press("#prechat-email", "Enter")
        await expect(customer.locator("body")).to_have_attribute("data-prechat", "done")
        await expect(customer.locator("#text")).to_be_focused()
        await customer.fill("#text", "Jag vill prata med en människa om min faktura")
        await customer.press("#text", "Enter")
        await expect(customer.locator(".msg--bot .body").last).to_contain_text("Självklart!")
        visitor = await customer.locator("body").get_attribute("data-visitor")
        chat = await desk.store.read(lambda tx: tx.find_conversation("webchat", [visitor]))
        assert chat is not None

        # an admin sees who it is, edits the contact, and sees the known customer beside it
        agent_ctx, agent = await _agent(browser, base, ADMIN_EMAIL)
        await _open(agent, chat.id)
        panel = agent.locator("#contact-body")
        await expect(panel).to_contain_text("ulla@example.se")
        known = (await api.get(f"/conversations/{earlier}"))["contact_id"]
        await expect(panel.locator(f'#similar [data-contact="{known}"]')).to_be_visible()
        await agent.locator("#messages").focus()
        await agent.keyboard.press("i")
        await expect(agent.locator("#contact-name")).to_be_focused()
        await agent.fill("#contact-name", "Ulla Svensson")
        await agent.fill("#contact-phone", "+46 70 123 45 67")
        await agent.fill("#contact-notes", "Föredrar chatt. <b>inte</b> HTML")
        await agent.click("#contact-save")
        await expect(panel.locator("dd.notes")).to_have_text("Föredrar chatt. <b>inte</b> HTML")
        await expect(agent.locator("#conv-title")).to_contain_text("Ulla Svensson")
        contact = await api.get(f"/contacts/{chat.contact_id}")
        assert (contact["display_name"], contact["phone"]) == ("Ulla Svensson", "+46 70 123 45 67")
        assert contact["notes"] == "Föredrar chatt. <b>inte</b> HTML"

        # merge the known customer in, after a preview that shows what stays
        await panel.locator(f'#similar [data-contact="{known}"] button').click()
        preview = agent.locator("#merge-preview")
        await expect(preview).to_contain_text(f"#{known}")
        await expect(preview).to_contain_text("1 conversation move")
        await expect(preview).to_contain_text("+46 70 123 45 67")
        await agent.screenshot(path=str(tmp_path / "merge-preview.png"))
        await agent.click("#merge-confirm")
        await expect(panel).to_contain_text("History (2)")
        await expect(agent.locator("#merge-done")).to_contain_text(f"#{known} was merged")
        merged = await api.get(f"/contacts/{chat.contact_id}")
        assert {c["id"] for c in merged["conversations"]} == {earlier, chat.id}
        assert {i["channel"] for i in merged["identities"]} == {"webchat", "loopback"}
        assert (await api.get(f"/contacts/{known}"))["merged_into"] == chat.contact_id
        await agent_ctx.close()
    finally:
        await customer_ctx.close()


async def test_signed_in_shop_customer_joins_their_contact(desk: Service, api: Api, browser: Any,
                                                           shop: dict[str, Any],
                                                           tmp_path: Path) -> None:
    earlier = await _known_customer(desk, "Hej, jag har en fråga om leveransen")
    known = (await api.get(f"/conversations/{earlier}"))["contact_id"]
    # the shop's server signs who is signed in there
    shop["identity"] = identity.sign(SITE_KEY, {
        "sub": "shop-user-42", "email": "ULLA@example.se", "name": "Ulla Svensson",
        "exp": int(time.time()) + 600})
    ctx = await browser.new_context(locale="sv-SE", viewport={"width": 1000, "height": 760})
    ctx.set_default_timeout(10_000)
    try:
        page = await ctx.new_page()
        await page.goto(shop["origin"] + "/")
        await page.click("button[aria-controls=ir-webchat-frame]")
        frame = page.frame_locator("#ir-webchat-frame")
        await expect(frame.locator("body")).to_have_attribute("data-ready", "1")
        await expect(frame.locator("body")).to_have_attribute("data-identity", "accepted")
        await expect(frame.locator("#prechat")).to_be_hidden()  # the shop vouches: no form
        await frame.locator("#text").fill("Hej! Var är mitt paket?")
        await frame.locator("#text").press("Enter")
        await expect(frame.locator(".msg--bot .body").last).to_contain_text("Tack för att du hör av dig")
        await page.screenshot(path=str(tmp_path / "signed-in-widget.png"))
        visitor = await frame.locator("body").get_attribute("data-visitor")
    finally:
        await ctx.close()
    chat = await desk.store.read(lambda tx: tx.find_conversation("webchat", [visitor]))
    assert chat is not None and chat.contact_id == known
    contact = await api.get(f"/contacts/{known}")
    assert {c["id"] for c in contact["conversations"]} >= {earlier, chat.id}
    assert {i["external_id"] for i in contact["identities"]} >= {"user:shop-user-42", visitor}


async def test_macro_and_triage_from_the_console(desk: Service, api: Api, browser: Any,
                                                tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{desk.port}"
    cid = await _known_customer(desk, "Jag vill prata med en människa om min faktura")
    agent_ctx, agent = await _agent(browser, base, AGENT_EMAIL)
    try:
        # anna writes a macro of her own: Swedish and English, tags and priority on send
        await agent.click("#macros-top")
        await expect(agent.locator("#macro-name")).to_be_focused()
        await agent.fill("#macro-name", "Fakturakopia")
        await agent.fill("#macro-lang-0", "en")
        await agent.fill("#macro-text-0", "Hi {{ contact.first_name }}, here is a copy. /{{ agent.name }}")
        await agent.click("#macro-add-lang")
        await agent.fill("#macro-lang-1", "sv")
        await agent.fill("#macro-text-1", "Hej {{ contact.first_name }}! Här är en kopia av "
                                          "fakturan. Hälsningar {{ agent.name }}")
        await agent.fill("#macro-tags", "faktura")
        await agent.select_option("#macro-priority", "high")
        await expect(agent.locator("#macro-shared-row")).to_be_hidden()  # shared: admins
        await agent.click("#macro-save")
        await expect(agent.locator("#macros-all")).to_contain_text("Fakturakopia")
        await agent.screenshot(path=str(tmp_path / "macros-dialog.png"))
        await agent.click("#macros-close")

        # open the conversation; the macro by keyboard (a, type, Enter): Swedish, filled in
        await _open(agent, cid)
        await agent.locator("#messages").focus()
        await agent.keyboard.press("a")
        await expect(agent.locator("#macro-q")).to_be_focused()
        await agent.keyboard.type("faktura")
        await expect(agent.locator("#macro-list button")).to_have_count(1)
        await agent.keyboard.press("Enter")
        rendered = "Hej Ulla! Här är en kopia av fakturan. Hälsningar Anna Berg"
        await expect(agent.locator("#reply")).to_have_value(rendered)
        await expect(agent.locator("#macro-pending")).to_contain_text("Fakturakopia (sv)")
        await agent.keyboard.press("Control+Enter")
        await expect(agent.locator("#messages .msg--agent .body").last).to_have_text(rendered)
        await expect(agent.locator("#macro-pending")).to_be_hidden()
        await expect(agent.locator('#tag-list [data-tag="faktura"]')).to_be_visible()
        await expect(agent.locator("#priority")).to_have_value("high")

        # triage by keyboard: a tag, the priority, a snooze, the follow-up date
        await agent.locator("#messages").focus()
        await agent.keyboard.press("l")
        await agent.keyboard.type("vip")
        await agent.keyboard.press("Enter")
        await expect(agent.locator('#tag-list [data-tag="vip"]')).to_be_visible()
        await agent.locator("#messages").focus()
        await agent.keyboard.press("p")
        await expect(agent.locator("#priority")).to_be_focused()
        await agent.select_option("#priority", "urgent")
        await expect(agent.locator("#triage")).to_have_attribute("data-priority", "urgent")
        await agent.locator("#messages").focus()
        await agent.keyboard.press("f")
        await expect(agent.locator("#follow-up")).to_be_focused()
        await agent.fill("#follow-up", "2099-05-04")
        await expect(agent.locator("#follow-up-clear")).to_be_visible()
        await agent.locator("#messages").focus()
        await agent.keyboard.press("z")
        await expect(agent.locator("#snooze-for")).to_be_focused()
        await agent.select_option("#snooze-for", "4h")
        await agent.click("#snooze-btn")
        await expect(agent.locator("#snoozed")).to_contain_text("snoozed until")
        await agent.screenshot(path=str(tmp_path / "triage.png"))

        seen = await api.get(f"/conversations/{cid}")
        assert set(seen["tags"]) >= {"faktura", "vip"} and seen["priority"] == "urgent"
        assert seen["snoozed_until"] and seen["follow_up_at"].startswith("2099-05-0")
        sent = [m["text"] for m in seen["messages"] if m["author_kind"] == "agent"]
        assert sent[-1] == rendered
        assert [e["data"]["language"] for e in seen["events"] if e["kind"] == "macro_applied"] == ["sv"]
        outbox = await desk.store.read(lambda tx: tx.list_messages(cid))
        assert any(m.text == rendered and not m.internal for m in outbox)

        # wake it again from the console
        await agent.click("#unsnooze")
        await expect(agent.locator("#snoozed")).to_be_hidden()
        assert (await api.get(f"/conversations/{cid}"))["snoozed_until"] is None
    finally:
        await agent_ctx.close()
