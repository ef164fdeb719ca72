"""Browser fixtures: Debian's Chromium driven by Playwright's async API, never a download.

One browser per test session (launching costs ~0.4 s), a fresh context per test (cookies
and storage isolated). Browser tests and their fixtures run on the session event loop
(`pytestmark = pytest.mark.asyncio(loop_scope="session")` in each browser module),
because a Playwright object is bound to the loop it was started on.
Under CI a missing browser fails the run; locally it skips with the install hint.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from router.config import load_config
from router.domain.model import Action, Decision, DecisionContext, InboundKind, QuickReply, ReplyContent
from router.service import Decider, Service
from tests.conftest import ROOT, write_config

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run",
               "--disable-dev-shm-usage"]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
WEBCHAT_SECRET = "test-webchat-secret-0123456789"

WEBCHAT_CONFIG = f"""
channels:
  webchat:
    secret: {WEBCHAT_SECRET}
    title: Exempel AB support
    allowed_origins: ["http://embed.test"]
"""


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1")


def shot_path(name: str) -> str:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return str(SCREENSHOTS / f"{name}.png")


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def browser() -> AsyncIterator[Any]:
    if not CHROMIUM.exists():
        message = (f"{CHROMIUM} is missing: install Debian's browser with "
                   "`apt-get install -y chromium` (never `playwright install`)")
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield launched
        await launched.close()


@pytest_asyncio.fixture(loop_scope="session")
async def context(browser: Any) -> AsyncIterator[Any]:
    ctx = await browser.new_context(locale="sv-SE", viewport={"width": 1000, "height": 720})
    ctx.set_default_timeout(10_000)
    yield ctx
    await ctx.close()


def chat_decide(ctx: DecisionContext) -> Decision:
    """A stand-in for rules and bots: echoes, offers buttons, answers button presses."""
    msg = ctx.message
    if ctx.event != "message":
        return Decision()
    if msg.kind == InboundKind.CALLBACK:
        reply = ReplyContent(text=f"Du valde {msg.callback_data}.")
    elif "alternativ" in msg.text:
        reply = ReplyContent(text="Välj ett alternativ:", quick_replies=(
            QuickReply("Faktura", "topic:invoice"), QuickReply("Leverans", "topic:delivery")))
    else:
        reply = ReplyContent(text=f"echo: {msg.text}")
    return Decision(actions=[Action("reply", reply, source="test")])


@pytest_asyncio.fixture(loop_scope="session")
async def webchat_service(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """Start a real service (SQLite in tmp_path) with the webchat channel; starting again
    with the same `port` is a restart on the same database."""
    started: list[Service] = []

    async def start(extra: str = WEBCHAT_CONFIG, decide: Any = chat_decide, port: int = 0) -> Service:
        config = load_config(write_config(tmp_path, extra))
        service = Service(config, decider=Decider(decide))
        await service.start(port=port)
        started.append(service)
        return service

    yield start
    for service in started:
        if not service.state["stopping"]:
            await service.stop()


# --- console (issue 7) ----------------------------------------------------------------
AGENT_EMAIL = "anna@example.com"
AGENT_PASSWORD = "correct horse battery staple"
CSAT_SECRET = "test-csat-secret-0123456789"

CONSOLE_CONFIG = f"""
service: {{name: Exempel AB}}
channels:
  webchat: {{secret: {WEBCHAT_SECRET}, title: Exempel AB support}}
  loopback: {{}}
queues:
  general: {{description: Everything else, sla: {{first_response: 30m, resolution: 1d,
                                                  business_hours: false}}}}
  billing: {{description: Invoices, sla: {{first_response: 1h, business_hours: false}}}}
agents:
  anna: {{name: Anna Berg, email: {AGENT_EMAIL}, languages: [sv, en]}}
  olle: {{name: Olle Ek, email: olle@example.com, languages: [sv]}}
languages: [sv, fi, nb, uk, en]
default_language: en
include: [config.d/*.yaml]
"""
#: the shipped canned replies are used as they are; these rules are the shipped ones
#: minus business hours (a test must not depend on the time of day it runs at)
CONSOLE_RULES = f"""
rules:
  - name: welcome
    on: conversation_opened
    then: [{{reply: welcome}}]
  - name: wants a human
    when: {{text: {{keywords: {{sv: [människa, prata med någon], en: [human, a person]}}}}}}
    then: [{{reply: handoff}}, {{handoff: general}}]
    stop: true
  - name: thank on resolve
    on: resolved
    when: {{channel: [webchat, loopback]}}
    then: [{{reply: resolved}}]
bots:
  csat: {{enabled: true, secret: {CSAT_SECRET}}}
"""


@pytest_asyncio.fixture(loop_scope="session")
async def console_service(tmp_path: Path) -> AsyncIterator[Service]:
    """The real service with web chat, the shipped canned replies, rules + bots (CSAT on),
    and agent anna with a console password."""
    from router.web.console.passwords import hash_password
    from router.wiring import build_decide

    (tmp_path / "config.d").mkdir()
    (tmp_path / "config.d" / "replies.yaml").write_text(
        (ROOT / "config.d" / "replies.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "config.d" / "rules.yaml").write_text(CONSOLE_RULES, encoding="utf-8")
    config = load_config(write_config(tmp_path, CONSOLE_CONFIG))
    service = Service(config, decider=Decider(build_decide(config)))
    await service.start(port=0)
    stored = hash_password(AGENT_PASSWORD)
    await service.store.write(lambda tx: tx.set_agent_password("anna", stored))
    yield service
    if not service.state["stopping"]:
        await service.stop()
