"""Files, collisions, notifications, layout and contrast in Chromium (issue 24).

- A customer attaches an image in the widget and the agent sees it; the agent replies
  with a PDF and the customer downloads it; a 30 MB file and a program named .png are
  refused in the widget with a message naming the file.
- Two agents open one conversation: each sees the other (and the other typing); the
  second reply, to a conversation the first now holds, asks to confirm.
- Notifications (a tone and a desktop notification) for an assignment and a customer's
  message, as the agent's settings (kept on the server) say.
- 1024 px keeps the contact panel; 390x844 has no horizontal overflow and a reply box in
  view; every page's text passes an axe-style contrast check.
- A live refresh of the lists keeps the rows that did not change: the click in progress
  and the keyboard focus on one survive it.
Screenshots go to the test's tmp dir.
"""

from __future__ import annotations

import asyncio
import re
import struct
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import expect

from router.config import load_config
from router.domain.model import Action, Decision, DecisionContext, InboundMessage, ReplyContent, Sender
from router.engine.agents import auth
from router.service import Decider, Service
from router.store.base import utcnow
from tests.conftest import write_config
from tests.web.conftest import CONSOLE_CONFIG
from tests.web.contrast import assert_contrast

pytestmark = pytest.mark.asyncio(loop_scope="session")
TOKENS: dict[str, str] = {}
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def png(width: int = 48, height: int = 32) -> bytes:
    """A real (tiny) PNG: a blue and orange gradient, so the preview has pixels."""
    rows = b"".join(b"\x00" + bytes(c for x in range(width) for c in (11, 87 + x, 208 - y))
                    for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def decide(ctx: DecisionContext) -> Decision:
    """A stand-in for the rules: a request for a person is acknowledged and queued."""
    if ctx.event != "message" or not any(w in ctx.message.text for w in ("människa", "någon")):
        return Decision()
    return Decision(actions=[
        Action("reply", ReplyContent(text="Självklart! Du får prata med någon i kundtjänst."),
               source="test"),
        Action("handoff", "general", source="test")])


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def service(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Service]:
    """One service for the module; anna an agent, olle an admin."""
    text = CONSOLE_CONFIG.replace("languages: [sv]}", "languages: [sv], role: admin}")
    text = text.replace("include: [config.d/*.yaml]\n", "")  # no rules: `decide` above
    assert "role: admin" in text and "include" not in text
    folder = tmp_path_factory.mktemp("collab")
    config = load_config(write_config(folder, text))
    started = Service(config, decider=Decider(decide))
    await started.start(port=0)
    # agents sign in with API tokens: a password costs an argon2 check (a second) each time
    for name in ("anna", "olle"):
        TOKENS[name] = await started.store.write(
            lambda tx, n=name: auth.issue_token(tx, n, utcnow()))
    yield started
    if not started.state["stopping"]:
        await started.stop()


def base(service: Service) -> str:
    return f"http://127.0.0.1:{service.port}"


async def agent_page(browser: Any, service: Service, name: str, *, width: int = 1280,
                     height: int = 820, notifications: bool = False) -> Any:
    ctx = await browser.new_context(locale="en-GB", viewport={"width": width, "height": height})
    ctx.set_default_timeout(10_000)
    if notifications:  # a desktop that allows them; the page's notifications are recorded
        await ctx.grant_permissions(["notifications"], origin=base(service))
        await ctx.add_init_script("""(() => {
          window.shownNotifications = [];
          class Recorded { constructor(title, o) { window.shownNotifications.push({ title, ...o }); }
                           static get permission() { return "granted"; }
                           static requestPermission() { return Promise.resolve("granted"); }
                           close() {} }
          window.Notification = Recorded;
        })()""")
    page = await ctx.new_page()
    await page.goto(f"{base(service)}/console")
    await page.click("#token-box summary")
    await page.fill("#token", TOKENS[name])
    await page.press("#token", "Enter")
    await expect(page.locator("body")).to_have_attribute("data-ready", "1")
    await expect(page.locator("#live")).to_have_text("Live")
    await expect(page.locator("body")).to_have_attribute("data-notify-ready", "1")
    return page


async def open_in_queue(page: Any, cid: int) -> None:
    await page.click("[data-queue=general]")
    await page.click(f"#convs [data-id='{cid}']")
    await expect(page.locator("#conv-title")).to_contain_text(f"#{cid}")


async def loopback(service: Service, text: str, n: int) -> int:
    r = await service.intake(InboundMessage(
        channel="loopback", external_id=f"collab-{n}-{text[:8]}", thread_key=f"collab-{n}",
        sender=Sender(external_id=f"kund{n}", display_name=f"Kund {n}"), text=text,
        received_at=datetime.now(UTC)))
    assert r.conversation_id is not None
    return r.conversation_id


async def test_files_both_ways_and_refusals(service: Service, browser: Any, tmp_path: Path) -> None:
    customer_ctx = await browser.new_context(locale="sv-SE", viewport={"width": 420, "height": 800},
                                             accept_downloads=True)
    customer_ctx.set_default_timeout(10_000)
    customer = await customer_ctx.new_page()
    await customer.goto(f"{base(service)}/chat")
    await expect(customer.locator("body")).to_have_attribute("data-ready", "1")
    log = customer.locator("#log")
    await customer.fill("#text", "Jag vill prata med en människa, tack")
    await customer.press("#text", "Enter")
    await expect(log.locator(".msg--bot .body").last).to_contain_text("Självklart")

    # an image goes up and shows; a 30 MB file and a program named .png do not
    picture = png()
    await customer.set_input_files("#file", files=[
        {"name": "kvitto.png", "mimeType": "image/png", "buffer": picture}])
    sent = log.locator(".msg--customer.msg--files").last
    await expect(sent).not_to_have_class("pending")
    await expect(sent.locator("img")).to_have_js_property("complete", True)
    assert await sent.locator("img").evaluate("i => i.naturalWidth") == 48
    big = tmp_path / "semester.mp4"
    with big.open("wb") as fh:
        fh.truncate(30 * 1024 * 1024)
    await customer.set_input_files("#file", files=[str(big)])
    await expect(log.locator(".msg.failed .err").last).to_have_text(
        "”semester.mp4” är för stor: filer får vara högst 10 MB.")
    await customer.set_input_files("#file", files=[
        {"name": "faktura.png", "mimeType": "image/png", "buffer": b"MZ\x90\x00" + b"\x00" * 8000}])
    await expect(log.locator(".msg.failed .err").last).to_have_text(
        "”faktura.png” kan inte skickas: bara bilder, PDF, text och Office-dokument tas emot.")
    await expect(log.locator(".msg.failed")).to_have_count(2)
    assert "Windows program" in await log.locator(".msg.failed").last.get_attribute("data-reason")
    await customer.screenshot(path=str(tmp_path / "widget-files.png"))
    await assert_contrast(customer, "widget with files")

    # the agent sees the image and answers with a PDF
    agent = await agent_page(browser, service, "anna")
    visitor = await customer.locator("body").get_attribute("data-visitor")
    conv = await service.store.read(lambda tx: tx.find_conversation("webchat", [visitor]))
    await open_in_queue(agent, conv.id)
    image = agent.locator("#messages .file--image img")
    await expect(image).to_have_attribute("alt", "kvitto.png")
    await expect(image).to_have_js_property("complete", True)
    assert await image.evaluate("i => i.naturalWidth") == 48
    await agent.set_input_files("#reply-files", files=[
        {"name": "faktura-maj.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    await expect(agent.locator("#reply-file-list .reply-file--ready .file-name")).to_have_text(
        "faktura-maj.pdf")
    await agent.fill("#reply", "Här är fakturan.")
    await agent.click("#send")
    await expect(agent.locator("#messages .msg--agent .file a")).to_contain_text("faktura-maj.pdf")
    await expect(agent.locator("#reply-file-list .reply-file")).to_have_count(0)
    await agent.screenshot(path=str(tmp_path / "console-files.png"))
    await assert_contrast(agent, "console with files")

    # the customer gets it and downloads exactly that file
    link = log.locator(".msg--agent .file-link")
    await expect(link).to_contain_text("faktura-maj.pdf")
    await expect(log.locator(".msg--agent .body").last).to_have_text("Här är fakturan.")
    async with customer.expect_download() as info:
        await link.click()
    download = await info.value
    assert download.suggested_filename == "faktura-maj.pdf"
    assert Path(await download.path()).read_bytes() == PDF
    await customer.screenshot(path=str(tmp_path / "widget-reply-with-pdf.png"))
    await customer_ctx.close()
    await agent.context.close()


async def test_two_agents_see_each_other_and_the_second_reply_asks(
        service: Service, browser: Any, tmp_path: Path) -> None:
    cid = await loopback(service, "Hej, jag vill prata med en människa om min order", 1)
    other = await loopback(service, "Hej! Jag vill prata med någon om leveransen", 2)
    anna = await agent_page(browser, service, "anna", notifications=True)
    olle = await agent_page(browser, service, "olle")
    await anna.locator("#notify-btn").click()  # notifications: sound and desktop, on the server
    await anna.locator("#notify-desktop").check()
    await expect(anna.locator("#notify-desktop")).to_be_checked()
    await expect(anna.locator("body")).to_have_attribute("data-notify-saved", re.compile(r"\d+"))
    await anna.locator("#notify-close").click()
    settings = await service.store.read(lambda tx: tx.agent_settings(1))
    assert settings["notifications"]["desktop"] is True

    # both open the same conversation: each sees the other, and the other typing
    await open_in_queue(anna, cid)
    await open_in_queue(olle, cid)
    await expect(anna.locator("#presence .viewer[data-agent=olle]")).to_have_text("Olle Ek is viewing")
    await expect(olle.locator("#presence .viewer[data-agent=anna]")).to_have_text("Anna Berg is viewing")
    await olle.locator("#reply").type("Jag kollar ")
    await expect(anna.locator("#presence .viewer[data-agent=olle]")).to_have_text(
        "Olle Ek is typing a reply…")
    await anna.screenshot(path=str(tmp_path / "collision-viewing.png"))

    # anna answers first, after confirming (olle is writing one); now olle's reply asks
    await anna.fill("#reply", "Hej! Jag hjälper dig med ordern.")
    await anna.press("#reply", "Control+Enter")
    await expect(anna.locator("#collision-text")).to_have_text(
        "Olle Ek is writing a reply to this conversation right now. Send yours anyway?")
    await anna.click("#collision-send")
    await expect(anna.locator("#conv-meta")).to_contain_text("assigned to anna")
    await expect(olle.locator("#conv-meta")).to_contain_text("assigned to anna")
    messages = olle.locator("#messages .msg--agent")
    await expect(messages).to_have_count(1)
    await olle.fill("#reply", "Jag har redan skickat ordern.")
    await olle.click("#send")
    dialog = olle.locator("#collision")
    await expect(dialog).to_be_visible()
    await expect(dialog.locator("#collision-text")).to_have_text(
        "Anna Berg holds this conversation. Send your reply anyway?")
    await expect(olle.locator("#collision-cancel")).to_be_focused()
    await olle.screenshot(path=str(tmp_path / "collision-confirm.png"))
    await assert_contrast(olle, "the collision dialog")
    await olle.keyboard.press("Escape")  # not sent
    await expect(dialog).to_be_hidden()
    await expect(olle.locator("#reply")).to_have_value("Jag har redan skickat ordern.")
    await olle.click("#send")
    await olle.locator("#collision-send").click()
    await expect(messages).to_have_count(2)
    await expect(messages.last.locator(".body")).to_have_text("Jag har redan skickat ordern.")
    async def texts() -> list[str]:
        return [m.text for m in await service.store.read(lambda tx: tx.list_messages(cid))
                if m.author_kind == "agent"]
    assert await texts() == ["Hej! Jag hjälper dig med ordern.", "Jag har redan skickat ordern."]

    # notifications: an assignment, then the customer writing in a conversation of hers
    await open_in_queue(olle, other)
    await olle.select_option("#transfer-to", "agent:anna")
    await olle.click("#transfer")
    await expect(anna.locator("body")).to_have_attribute("data-notified", "1")
    await loopback(service, "Är det någon där?", 2)
    await expect(anna.locator("body")).to_have_attribute("data-notified", "2")
    log = await anna.evaluate("window.consoleNotify.log")
    assert [(e["what"], e["conversation_id"], e["desktop"]) for e in log] == [
        ("assigned", other, True), ("customer_replies", other, True)]
    shown = await anna.evaluate("window.shownNotifications")
    assert [n["title"] for n in shown] == ["Conversation assigned to you", "The customer wrote"]
    await expect(anna.locator("#notify-live")).to_have_text(f"The customer wrote: #{other}")
    for page in (anna, olle):
        await page.context.close()


async def test_a_live_refresh_keeps_the_row_under_the_pointer_and_focus(
        service: Service, browser: Any) -> None:
    """The lists refresh on every event. A row that did not change stays the same element,
    so a click whose mouse-up comes after a refresh still opens it (a new element under
    the mouse-up swallowed the click: a CI flake, and a lost click for a real agent), and
    a row focused from the keyboard keeps focus."""
    first = await loopback(service, "Jag vill prata med någon om min faktura", 20)
    olle = await agent_page(browser, service, "olle")
    # chips count minutes to an SLA: a fixed clock keeps an unchanged row equal over time
    await olle.clock.set_fixed_time(datetime.now(UTC))
    await olle.click("[data-queue=general]")
    row = olle.locator(f"#convs [data-id='{first}']")
    await row.scroll_into_view_if_needed()
    await row.evaluate("b => { b.focus(); window.keptRow = b; }")
    box = await row.bounding_box()
    assert box is not None
    await olle.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    await olle.mouse.down()
    later = await loopback(service, "Kan någon ringa mig om leveransen?", 21)
    await expect(olle.locator(f"#convs [data-id='{later}']")).to_be_visible()  # refreshed
    assert await olle.evaluate("window.keptRow.isConnected && document.activeElement === window.keptRow")
    await olle.mouse.up()
    await expect(olle.locator("#conv-title")).to_contain_text(f"#{first}")
    await olle.context.close()


async def test_layout_at_1024_and_390_and_contrast_everywhere(
        service: Service, browser: Any, tmp_path: Path) -> None:
    cid = await loopback(service, "Hej, jag vill prata med en människa om fakturan " * 3, 3)
    olle = await agent_page(browser, service, "olle", width=1280, height=800)  # an admin
    await assert_contrast(olle, "the console's lists")
    await expect(olle.locator("#reports-link")).to_be_visible()
    await open_in_queue(olle, cid)
    await assert_contrast(olle, "a conversation")
    for button, dialog in (("#notify-btn", "#notify-settings"), ("#help-btn", "#help")):
        await olle.click(button)
        await expect(olle.locator(dialog)).to_be_visible()
        await assert_contrast(olle, dialog)
        await olle.keyboard.press("Escape")

    # 1024: the contact panel stays, under the lists
    await olle.set_viewport_size({"width": 1024, "height": 768})
    contact = await olle.locator("#contact").bounding_box()
    messages = await olle.locator("#messages").bounding_box()
    assert contact and contact["width"] > 200 and contact["height"] > 150, contact
    assert messages and messages["height"] > 200, messages
    await expect(olle.locator("#contact-body")).to_contain_text("History (1)")
    await expect(olle.locator("#to-contact")).to_be_hidden()  # a phone's button only
    await olle.screenshot(path=str(tmp_path / "console-1024.png"))
    await assert_contrast(olle, "the console at 1024 px")

    # 390x844: nothing wider than the screen; the messages and the reply box in view
    await olle.set_viewport_size({"width": 390, "height": 844})
    assert await olle.evaluate("document.documentElement.scrollWidth") <= 390
    messages = await olle.locator("#messages").bounding_box()
    reply = await olle.locator("#reply").bounding_box()
    assert messages and messages["height"] >= 400, messages
    assert reply and reply["y"] >= 0 and reply["y"] + reply["height"] <= 844 and reply["width"] >= 300
    await olle.locator("#reply").fill("Tack, jag tittar på det.")
    reply = await olle.locator("#reply").bounding_box()
    assert reply and reply["y"] + reply["height"] <= 844  # the helpers that open stay clear of it
    await olle.screenshot(path=str(tmp_path / "console-390.png"))
    await assert_contrast(olle, "the console at 390 px")
    await olle.click("#to-contact")  # the contact panel is a pane of its own here
    await expect(olle.locator("#contact-body")).to_contain_text("History (1)")
    await expect(olle.locator("#messages")).to_be_hidden()
    assert await olle.evaluate("document.documentElement.scrollWidth") <= 390
    await olle.screenshot(path=str(tmp_path / "console-390-contact.png"))
    await olle.click("#to-conv")
    await expect(olle.locator("#messages")).to_be_visible()
    await olle.click("#back")
    await expect(olle.locator("#convs")).to_be_visible()
    assert await olle.evaluate("document.documentElement.scrollWidth") <= 390
    await olle.screenshot(path=str(tmp_path / "console-390-lists.png"))

    # the pages beside the console, and the sign-in page
    await olle.set_viewport_size({"width": 1280, "height": 800})
    for path in ("console/reports", "console/faq", "console/audit", "console/security"):
        await olle.goto(f"{base(service)}/{path}", wait_until="networkidle")
        await assert_contrast(olle, path)
    await olle.goto(f"{base(service)}/console")
    await expect(olle.locator("body")).to_have_attribute("data-ready", "1")
    await olle.click("#logout")
    await expect(olle.locator("#signin")).to_be_visible()
    await assert_contrast(olle, "sign-in")
    chat = await olle.context.new_page()
    await chat.set_viewport_size({"width": 390, "height": 844})
    await chat.goto(f"{base(service)}/chat")
    await expect(chat.locator("body")).to_have_attribute("data-ready", "1")
    assert await chat.evaluate("document.documentElement.scrollWidth") <= 390
    await assert_contrast(chat, "the web chat")
    await olle.context.close()


async def test_a_late_answer_to_a_reply_does_not_switch_the_view_back(
        service: Service, browser: Any) -> None:
    """The agent sends a reply and clicks the next conversation; the send's answer comes
    while the next one is still loading. The console stays on the next one: the refresh
    after a send used to open the first again, and the next one's late load was then
    dropped as stale."""
    first = await loopback(service, "Hej, jag vill prata med en människa om fakturan", 21)
    second = await loopback(service, "Hej! Kan jag få prata med någon om returen?", 22)
    page = await agent_page(browser, service, "anna")
    await open_in_queue(page, first)
    replies: asyncio.Queue[Any] = asyncio.Queue()
    loads: asyncio.Queue[Any] = asyncio.Queue()
    await page.route(f"**/conversations/{first}/reply", replies.put_nowait)  # held until told
    await page.route(f"**/conversations/{second}", loads.put_nowait)
    await page.fill("#reply", "Hej! Jag tittar på fakturan nu.")
    await page.click("#send")
    reply = await replies.get()  # the reply's request is on its way
    await page.click("[data-queue=general]")
    await page.click(f"#convs [data-id='{second}']")
    load = await loads.get()  # ... and so is the next conversation's
    async with page.expect_response(lambda r: r.url.endswith("/queues")):  # after the send
        await reply.continue_()
    await load.continue_()
    await expect(page.locator("#conv-title")).to_have_text(f"#{second} · Kund 22")
    await expect(page.locator("#contact-body")).to_contain_text("Kund 22")
    await expect(page.locator("#messages .msg--agent")).to_have_count(0)
    texts = [m.text for m in await service.store.read(lambda tx: tx.list_messages(first))
             if m.author_kind == "agent"]
    assert texts == ["Hej! Jag tittar på fakturan nu."]
    await page.context.close()
