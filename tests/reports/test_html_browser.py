"""The HTML report renders in real Chromium, with its charts, and loads nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from router.web.reports.load import report_for
from router.web.reports.render_html import render_html
from tests.reports.history import END, START, History
from tests.web.conftest import browser, shot_path  # noqa: F401  (fixture)

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_the_html_report_renders_with_its_charts(tmp_path: Path, browser: Any):  # noqa: F811
    history = History(tmp_path)
    await history.build()
    try:
        report = await report_for(history.config, history.store, START, END,
                                  now=datetime(2026, 3, 10, tzinfo=UTC))
    finally:
        await history.store.close()
    path = tmp_path / "report.html"
    path.write_text(render_html(report, "channel", title="Exempel <AB>"), encoding="utf-8")
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    requests: list[str] = []
    try:
        page = await context.new_page()
        page.on("request", lambda r: requests.append(r.url))
        await page.goto(path.as_uri())
        assert await page.title() == "Exempel <AB> report 2026-03-02 – 2026-03-09"
        charts = await page.locator("svg.chart").count()
        assert charts >= 7  # six bar charts and the heatmap
        box = await page.locator("svg.chart rect").first.bounding_box()
        assert box is not None and box["width"] > 1 and box["height"] > 1
        kpi = await page.locator(".kpi b").first.inner_text()
        assert kpi == "5"
        assert await page.locator("svg.heatmap rect").count() == 7 * 24
        await page.screenshot(path=shot_path("report-html"), full_page=True)
    finally:
        await context.close()
    assert requests == [path.as_uri()]  # self-contained: no other request at all
