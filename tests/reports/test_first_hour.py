"""Issue 26, reports as a newcomer meets them: the default period has today's
conversations, the title is `service.name`, a queue without data says so, CSAT goes to
the agent who resolved, and the console's Reports page is clear for a non-admin."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from router.cli import main
from router.engine.agents import actions
from router.engine.agents.policy import config_agents
from router.web.reports.page import applied_days
from tests.api.conftest import api, api_factory  # noqa: F401  (fixtures)
from tests.reports.history import History

NAME = "Exempel AB Support"


def _today(tmp_path: Path) -> Path:
    """One conversation opened minutes ago: handed off, answered by ann, transferred to
    and resolved by bob, rated 4. The config names the service and keeps SLAs on both queues."""
    history = History(tmp_path)
    cfg = Path(history.config.path)
    cfg.write_text(cfg.read_text(encoding="utf-8").replace(
        "service:\n", f"service:\n  name: {NAME}\n", 1), encoding="utf-8")

    async def build() -> None:
        await history.store.open()
        await history.desk.sync_agents(config_agents(history.config))
        now = datetime.now(UTC)
        cid = await history.at(now - timedelta(minutes=10), "telegram", "human")
        await history.agent_does(now - timedelta(minutes=8), cid, "ann", actions.reply,
                                 text="Hello!")
        await history.agent_does(now - timedelta(minutes=6), cid, "ann", actions.transfer,
                                 agent="bob")
        await history.agent_does(now - timedelta(minutes=5), cid, "bob", actions.resolve)
        await history.csat(now - timedelta(minutes=4), cid, 4)
        await history.store.close()

    asyncio.run(build())
    return cfg


def test_the_default_period_holds_today_and_the_report_is_named_after_the_service(
        tmp_path: Path, capsys):
    cfg = str(_today(tmp_path))
    assert main(["report", "-c", cfg, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["totals"]["opened"] == 1  # opened today, no --from/--to given
    assert main(["report", "-c", cfg]) == 0
    table = capsys.readouterr().out
    assert table.startswith(f"{NAME} report ") and "Inquiry Router" not in table
    assert main(["report", "-c", cfg, "--format", "html"]) == 0  # stdout by default
    html = capsys.readouterr().out
    assert f"<h1>{NAME} — report</h1>" in html
    assert not list(tmp_path.glob("*.html"))  # nothing written beside the config


def test_a_queue_without_conversations_shows_no_data_not_zero_percent(tmp_path: Path, capsys):
    cfg = str(_today(tmp_path))
    assert main(["report", "-c", cfg, "--format", "json"]) == 0
    sla = {(s["queue"], s["kind"]): s for s in json.loads(capsys.readouterr().out)["sla"]}
    assert sla[("billing", "first_response")]["compliance"] == 100.0
    assert sla[("general", "first_response")]["compliance"] is None
    assert main(["report", "-c", cfg]) == 0
    general = [line for line in capsys.readouterr().out.splitlines()
               if line.startswith("general ")]
    assert general and all("no data" in line and "0%" not in line for line in general)
    assert main(["report", "-c", cfg, "--format", "html"]) == 0
    html = capsys.readouterr().out
    assert "general first response: no data" in html
    assert "aria-label='SLA compliance'" in html  # billing's bar is still drawn


def test_csat_is_credited_to_the_agent_who_resolved(tmp_path: Path, capsys):
    cfg = str(_today(tmp_path))
    assert main(["report", "-c", cfg, "--format", "json"]) == 0
    agents = {a["agent"]: a for a in json.loads(capsys.readouterr().out)["agents"]}
    assert agents["ann"]["first_responses"] == 1 and agents["ann"]["csat_average"] is None
    assert agents["bob"]["resolved"] == 1 and agents["bob"]["csat_average"] == 4.0


async def _page(api, who: str | None) -> tuple[int, str]:  # noqa: F811
    base = f"http://127.0.0.1:{api.service.port}"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        if who is not None:
            async with http.post(base + "/console/login", json={"token": api.tokens[who]}) as r:
                assert r.status == 200
        async with http.get(base + "/console/reports") as r:
            assert r.content_type == "text/html"
            return r.status, await r.text()


async def test_the_reports_page_tells_a_non_admin_instead_of_framing_json(api):  # noqa: F811
    status, text = await _page(api, "ann")
    assert status == 403 and "Reports are for admins" in text
    assert "<iframe" not in text and '"error"' not in text
    status, text = await _page(api, None)
    assert status == 401 and "Sign in first" in text and "<iframe" not in text


async def test_the_admins_form_shows_the_period_it_applied(api):  # noqa: F811
    status, text = await _page(api, "boss")
    start, end = applied_days(api.service.agents.desk.clock())
    assert status == 200
    assert f'name="start" value="{start}"' in text and f'name="end" value="{end}"' in text
    assert f"download?format=html&amp;start={start}&amp;end={end}" in text
    assert (datetime.fromisoformat(end) - datetime.fromisoformat(start)).days == 29


async def test_in_chromium_a_non_admin_reads_a_page_and_an_admin_sees_the_period(api):  # noqa: F811
    from tests.web.conftest import CHROMIUM, LAUNCH_ARGS

    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    from playwright.async_api import async_playwright

    base = f"http://127.0.0.1:{api.service.port}"
    start, end = applied_days(api.service.agents.desk.clock())
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            for who in ("ann", "boss"):
                ctx = await browser.new_context()
                ctx.set_default_timeout(10_000)
                r = await ctx.request.post(base + "/console/login",
                                           data={"token": api.tokens[who]})
                assert r.ok
                page = await ctx.new_page()
                await page.goto(base + "/console/reports")
                if who == "ann":
                    assert await page.locator("h1").inner_text() == "Reports are for admins"
                    assert await page.locator("iframe").count() == 0
                else:
                    assert await page.locator("input[name=start]").input_value() == start
                    assert await page.locator("input[name=end]").input_value() == end
                    frame = page.frame_locator("iframe[name=report]")
                    await frame.locator("h1").wait_for()
                    assert "report" in await frame.locator("h1").inner_text()
                await ctx.close()
        finally:
            await browser.close()
