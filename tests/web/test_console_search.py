"""Search, views and rich list rows in the agent console (issue 24), Chromium end to end on
SQLite and on PostgreSQL: the agent finds a conversation by a word of its third message,
by the contact's email and by tag; views count live; a saved view is the agent's own;
what customers wrote is shown as text, never as markup. Screenshots go to the test's
tmp directory (screenshots/)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import expect

from router.config import load_config
from router.domain.model import Action, Decision, DecisionContext, InboundMessage, Sender
from router.engine.agents import actions
from router.service import Decider, Service
from tests.conftest import write_config
from tests.store.pg import fresh_schema, store_url
from tests.web.conftest import AGENT_EMAIL, AGENT_PASSWORD, CONSOLE_CONFIG
from tests.web.test_webchat_browser import CONTRAST_JS

pytestmark = pytest.mark.asyncio(loop_scope="session")
XSS = '<img src=x onerror="document.body.dataset.pwned=1">'


def to_a_person(ctx: DecisionContext) -> Decision:
    """Every customer message goes to the general queue, in Swedish unless it is English
    (PostgreSQL stems it in that language)."""
    if ctx.event != "message":
        return Decision()
    english = ctx.message.text.startswith("Hello")
    return Decision(actions=[Action("handoff", "general", source="test")],
                    language="en" if english else "sv")


@pytest_asyncio.fixture(loop_scope="session", params=["sqlite", "postgres"])
async def service(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Service]:
    from router.web.console.passwords import hash_password

    async def start(extra: str) -> Service:
        (tmp_path / "config.d").mkdir()
        (tmp_path / "config.d" / "none.yaml").write_text("{}\n", encoding="utf-8")
        config = load_config(write_config(tmp_path, CONSOLE_CONFIG + extra))
        started = Service(config, decider=Decider(to_a_person))
        await started.start(port=0)
        stored = hash_password(AGENT_PASSWORD)
        await started.store.write(lambda tx: tx.set_agent_password("anna", stored))
        return started

    if request.param == "sqlite":
        running = await start("")
        yield running
        await running.stop()
        return
    async with fresh_schema() as (url, schema):
        running = await start(f"storage: {{url: '{store_url(url, schema)}'}}\n")
        yield running
        await running.stop()


class Customers:
    def __init__(self, service: Service) -> None:
        self.service, self.n = service, 0

    async def say(self, who: str, text: str, *, name: str = "", email: str = "") -> int:
        self.n += 1
        r = await self.service.intake(InboundMessage(
            channel="loopback", external_id=f"c{self.n}", thread_key=f"thread-{who}",
            sender=Sender(external_id=who, display_name=name, email=email), text=text,
            received_at=datetime.now(UTC)))
        assert r.conversation_id is not None
        return r.conversation_id


async def test_find_by_third_message_email_and_tag_with_live_views(service: Service, browser: Any,
                                                                   tmp_path: Path) -> None:
    shots = tmp_path / "screenshots"
    shots.mkdir()
    people = Customers(service)
    ulla = dict(name="Ulla Åberg", email="ulla@example.se")
    first = await people.say("ulla", "Hej! Jag har en fråga.", **ulla)
    await people.say("ulla", "Det gäller min beställning från mars.", **ulla)
    await people.say("ulla", "Fakturan saknar momsen, kan ni skicka en ny?", **ulla)
    bo = await people.say("bo", "Hello, where is my parcel? It was due on Monday.",
                          name="Bo Ek", email="bo@example.com")
    sneaky = await people.say("x", f"{XSS} fakturan igen", name=XSS, email="x@example.net")

    async def tag(tx: Any) -> None:
        conv = await tx.get_conversation(bo)
        conv.tags, conv.priority = ["vip", "parcel"], "urgent"
        await tx.save_conversation(conv, conv.updated_at)

    await service.store.write(tag)

    ctx = await browser.new_context(locale="sv-SE", viewport={"width": 1366, "height": 768})
    ctx.set_default_timeout(10_000)
    dialogs: list[str] = []
    try:
        page = await ctx.new_page()
        page.on("dialog", lambda d: dialogs.append(d.message))
        await page.goto(f"http://127.0.0.1:{service.port}/console")
        await page.fill("#email", AGENT_EMAIL)
        await page.fill("#password", AGENT_PASSWORD)
        await page.press("#password", "Enter")
        await expect(page.locator("body")).to_have_attribute("data-ready", "1")
        await expect(page.locator("#live")).to_have_text("Live")
        rows = page.locator("#convs .conv-item")

        # views with counts: three conversations wait, one is tagged vip
        unassigned = page.locator("#views-more [data-view=unassigned]")
        await expect(unassigned.locator(".count")).to_have_text("3")
        await expect(page.locator("#tag-views [data-view='tag:vip'] .count")).to_have_text("1")
        await unassigned.click()
        await expect(page.locator("#list-title")).to_have_text("Unassigned")
        await expect(rows).to_have_count(3)
        # rich rows: contact name, channel icon, preview, waiting time, priority, tags
        row = rows.filter(has_text="Bo Ek")
        await expect(row.locator(".title")).to_have_text("Bo Ek")
        await expect(row.locator(".preview")).to_have_text(
            "Hello, where is my parcel? It was due on Monday.")
        await expect(row.locator(".prio")).to_have_text("urgent")
        await expect(row.locator(".tag")).to_have_text(["vip", "parcel"])
        await expect(row.locator(".wait")).to_contain_text("waiting")
        await expect(row.locator("svg.icon use")).to_have_attribute("href", "#i-other")
        await expect(rows.first).to_contain_text("Bo Ek")  # urgent first (queue order)
        await page.screenshot(path=str(shots / "views-unassigned.png"))
        for selector in ("#convs .preview", "#convs .sub", "#convs .tag", "#convs .prio",
                         "#views-more .count", "#search-label, .search-label"):
            ratio = await page.evaluate(CONTRAST_JS, selector)
            assert ratio >= 4.5, (selector, ratio)

        # a word of the third message (Ctrl+K to the box): the match is marked
        await page.keyboard.press("Control+k")
        await expect(page.locator("#search-q")).to_be_focused()
        await page.keyboard.type("momsen")
        await expect(page.locator("#list-title")).to_have_text("Search: momsen")
        await expect(rows).to_have_count(1)
        await expect(rows.first.locator(".title")).to_have_text("Ulla Åberg")
        await expect(rows.first.locator(".preview mark")).to_have_text("momsen")
        await expect(page.locator("#search-info")).to_have_text("1 conversation")
        await page.screenshot(path=str(shots / "search-third-message.png"))
        await rows.first.click()
        await expect(page.locator("#conv-title")).to_contain_text(f"#{first}")

        # the contact's email
        await page.fill("#search-q", "ulla@example.se")
        await expect(page.locator("#list-title")).to_have_text("Search: ulla@example.se")
        await expect(rows).to_have_count(1)
        await expect(rows.first.locator(".preview")).to_have_text(
            "Contact: Ulla Åberg · ulla@example.se")
        hit = page.locator("#search-contacts .contact-hit")
        await expect(hit.locator(".name")).to_have_text(["Ulla Åberg"])
        await expect(hit.locator(".sub")).to_have_text(["ulla@example.se"])
        await page.screenshot(path=str(shots / "search-email.png"))

        # a tag: in the box, and as a view
        await page.fill("#search-q", "tag:vip")
        await expect(page.locator("#list-title")).to_have_text("Search: tag:vip")
        await expect(rows).to_have_count(1)
        await expect(rows.first.locator(".title")).to_have_text("Bo Ek")
        await page.press("#search-q", "Escape")
        await expect(page.locator("#search-q")).to_have_value("")
        await page.click("#tag-views [data-view='tag:vip']")
        await expect(page.locator("#list-title")).to_have_text("Tagged vip")
        await expect(rows).to_have_count(1)
        await page.screenshot(path=str(shots / "view-tag.png"))

        # customers' text and names stay text, in rows and in marked matches
        await page.fill("#search-q", "fakturan")
        await expect(rows).to_have_count(2)
        sneaky_row = page.locator(f"#convs [data-id='{sneaky}']")
        await expect(sneaky_row.locator(".title")).to_have_text(XSS)
        await expect(sneaky_row.locator(".preview")).to_have_text(f"{XSS} fakturan igen")
        await expect(sneaky_row.locator("mark")).to_have_text("fakturan")
        assert await page.locator("#convs img, #search-contacts img").count() == 0

        # a saved view: the filters with a name; it counts, lists, and goes away again
        await page.fill("#search-q", "fakturan")
        await page.click("#search-filters summary")
        await page.select_option("#f-status", "queued")
        await page.fill("#view-name", "Fakturor")
        await page.click("#view-save")
        saved = page.locator("#saved-views .view")
        await expect(saved.locator(".name")).to_have_text(["Fakturor"])
        await expect(saved.locator(".count")).to_have_text(["2"])
        await expect(page.locator("#list-title")).to_have_text("Fakturor")
        await expect(page.locator("#search-q")).to_have_value("")
        await expect(rows).to_have_count(2)

        # counts are live: a new customer writes, the counts follow without a reload
        await people.say("di", "Hej, fakturan från april är fel.", name="Di")
        await expect(saved.locator(".count")).to_have_text(["3"])
        await expect(unassigned.locator(".count")).to_have_text("4")
        await expect(rows).to_have_count(3)
        # a colleague mentions anna in a note: her Mentions count follows, live
        mentions = page.locator("#views-more [data-view=mentions] .count")
        await expect(mentions).to_have_text("0")
        olle = await service.store.read(lambda tx: tx.get_agent("olle"))
        await service.agents.desk.run(bo, actions.note, olle, text="@anna kan du ta den här?")
        await expect(mentions).to_have_text("1")
        await page.screenshot(path=str(shots / "view-saved-live.png"))
        await page.click("#saved-views .delete")
        await expect(saved).to_have_count(0)
        await expect(page.locator("#list-title")).to_have_text("My conversations")

        # phone width: the box and the rows fit, no sideways scrolling
        await page.set_viewport_size({"width": 390, "height": 844})
        await page.click("#back")  # a conversation was open: back to the lists
        await page.fill("#search-q", "parcel")
        await expect(rows).to_have_count(1)
        assert await page.evaluate("document.documentElement.scrollWidth <= innerWidth")
        await page.screenshot(path=str(shots / "search-phone.png"))
        assert await page.evaluate("document.body.dataset.pwned") is None
        assert dialogs == []
    finally:
        await ctx.close()
