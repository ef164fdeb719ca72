"""Out of hours in the real widget (issue 21): one message from us, no contradiction.

The shipped rules greet a new conversation out of hours with the away text; the FAQ
answers the invoice question. In Chromium the customer sees both in one bubble.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from router.config import load_config
from router.service import Decider, Service
from router.wiring import build_decide
from tests.api.test_customer_hears import _shipped_rules
from tests.conftest import write_config
from tests.web.conftest import WEBCHAT_SECRET

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_an_out_of_hours_invoice_question_is_one_bubble(tmp_path: Path,
                                                              context: Any) -> None:
    rules, opening = _shipped_rules(tmp_path, closed=True)
    config = load_config(write_config(tmp_path, f"""
channels:
  webchat: {{secret: {WEBCHAT_SECRET}}}
agents:
  alice: {{name: Alice}}
  bob: {{name: Bob}}
{rules}"""))
    service = Service(config, decider=Decider(build_decide(config)))
    await service.start(port=0)
    try:
        page = await context.new_page()
        await page.goto(f"http://127.0.0.1:{service.port}/chat")
        await expect(page.locator("body")).to_have_attribute("data-ready", "1")
        await page.fill("#text", "Hej! Jag har inte fått någon faktura, var hittar jag den?")
        await page.press("#text", "Enter")
        bot = page.locator("#log .msg--bot .body")
        await expect(bot.first).to_contain_text("Mitt konto")
        assert opening is not None
        await expect(bot.first).to_contain_text(f"{opening:%H}:00")
        # every reply of that message was decided in one transaction: this is all of it
        db = sqlite3.connect(tmp_path / "data" / "router.db")
        try:
            assert db.execute("SELECT count(*) FROM outbox WHERE channel = 'webchat'"
                              ).fetchone()[0] == 1
        finally:
            db.close()
        await expect(bot).to_have_count(1)
        await page.close()
    finally:
        await service.stop()
