"""CSAT out of the box: a fresh install surveys the customer when an agent resolves a chat.

Nothing about CSAT is configured and no `*_SECRET` variable is set (tests/web/fresh_install.py):
the signing key is made once in `data/csat.secret`, the survey goes out when an agent
resolves over the HTTP API, in the customer's language with rating buttons, once per
conversation, and a button signed before a restart still counts after it.
"""

from __future__ import annotations

import stat
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from playwright.async_api import expect

from bots.texts import BUILTIN
from tests.web.conftest import shot_path
from tests.web.fresh_install import AgentApi, FreshInstall, Visitor

pytestmark = pytest.mark.asyncio(loop_scope="session")

SURVEY_SV = BUILTIN["csat_request"]["sv"]
THANKS_SV = BUILTIN["csat_thanks"]["sv"]
QUESTION = "Hej! Jag har en fråga om min faktura."


@pytest_asyncio.fixture(loop_scope="session")
async def fresh(tmp_path: Path) -> AsyncIterator[Callable[[], Any]]:
    """A started fresh install; stopped at teardown."""
    made: list[FreshInstall] = []

    async def make() -> FreshInstall:
        install = FreshInstall(tmp_path)
        made.append(install)
        await install.start()
        return install

    yield make
    for install in made:
        await install.stop()


def surveys(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if m["text"] == SURVEY_SV]


async def test_fresh_install_asks_for_a_rating_in_the_widget(fresh: Any, browser: Any) -> None:
    install: FreshInstall = await fresh()
    context = await browser.new_context(locale="sv-SE", viewport={"width": 480, "height": 800})
    context.set_default_timeout(15_000)
    try:
        page = await context.new_page()
        await page.goto(f"{install.base}/chat")
        await expect(page.locator("body")).to_have_attribute("data-ready", "1")
        await page.fill("#text", QUESTION)
        await page.press("#text", "Enter")
        log = page.locator("#log")
        await expect(log.locator(".msg--customer .body").last).to_have_text(QUESTION)
        await expect(log.locator(".msg--bot .body").first).to_be_visible()  # the bot answered

        async with aiohttp.ClientSession() as http:
            agent = AgentApi(http, install, await install.token("alice"))
            conv_id = await agent.webchat_conversation()
            resolved = await agent.resolve(conv_id)
            assert resolved["status"] == "resolved"

            # the survey, in Swedish, with the rating buttons; a press is thanked
            await expect(page.locator("#quick button")).to_have_text(["1", "2", "3", "4", "5"])
            await expect(log.locator(".msg--bot .body", has_text=SURVEY_SV)).to_have_count(1)
            await page.screenshot(path=shot_path("csat-fresh-install"), full_page=True)
            await page.locator("#quick button", has_text="4").click()
            await expect(log.locator(".msg--bot .body").last).to_have_text(THANKS_SV)
            detail = await agent.detail(conv_id)
        ratings = [(e["data"]["score"], e["data"]["via"]) for e in detail["events"]
                   if e["kind"] == "csat"]
        assert ratings == [(4, "button")]
        assert detail["status"] == "resolved"  # the press did not reopen it
    finally:
        await context.close()


async def test_a_second_resolve_sends_no_second_survey(fresh: Any) -> None:
    install: FreshInstall = await fresh()
    async with aiohttp.ClientSession() as http:
        visitor = Visitor(http, install, "sv-SE")
        await visitor.connect()
        await visitor.say(QUESTION)
        agent = AgentApi(http, install, await install.token("alice"))
        conv_id = await agent.webchat_conversation()

        await agent.resolve(conv_id)
        # by its text: in business hours the welcome before it carries a button too
        survey = await visitor.until("message", text=SURVEY_SV)
        assert survey["text"] == SURVEY_SV and survey["author"] == "bot"
        assert [q["label"] for q in survey["quick_replies"]] == ["1", "2", "3", "4", "5"]

        await agent.reopen(conv_id)
        again = await agent.resolve(conv_id)  # answered after its effects are committed
        assert again["status"] == "resolved"
        detail = await agent.detail(conv_id)
        assert len(surveys(detail["messages"])) == 1
        # the resolved event ran the second time too: the shipped thank-you went out twice
        assert sum(m["text"].startswith("Ditt ärende är nu avslutat") for m in detail["messages"]) == 2
        # what the customer's widget shows after a reload: one survey
        await visitor.close()
        welcome = await visitor.connect()
        assert len(surveys(welcome["messages"])) == 1
        await visitor.close()


async def test_key_is_made_once_and_kept_across_a_restart(fresh: Any) -> None:
    install: FreshInstall = await fresh()
    key_file = install.data / "csat.secret"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600  # made at start-up, private
    key = key_file.read_text(encoding="utf-8")
    assert len(key.strip()) >= 32
    async with aiohttp.ClientSession() as http:
        visitor = Visitor(http, install, "sv-SE")
        await visitor.connect()
        await visitor.say(QUESTION)
        agent = AgentApi(http, install, await install.token("alice"))
        conv_id = await agent.webchat_conversation()
        await agent.resolve(conv_id)
        survey = await visitor.until("message", text=SURVEY_SV)
        four = survey["quick_replies"][3]
        await visitor.close()

        await install.stop()
        await install.start()
        assert key_file.read_text(encoding="utf-8") == key  # reused, not made again
        assert sorted(p.name for p in install.data.glob("*.secret")) == [
            "console.secret", "csat.secret", "webchat.secret"]
        # a button signed before the restart still counts: the same key signs and checks
        await visitor.connect()
        await visitor.press(four["label"], four["payload"])
        thanks = await visitor.until("message", author="bot")
        assert thanks["text"] == THANKS_SV
        detail = await agent.detail(conv_id)
    assert [e["data"]["score"] for e in detail["events"] if e["kind"] == "csat"] == [4]
    assert key.strip() not in install.log.read_text(encoding="utf-8")  # never logged
