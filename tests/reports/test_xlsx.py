"""`report --format xlsx` and the API's xlsx download: the workbook holds the report's figures
as numbers (durations as Excel durations, rates as fractions) on one sheet per table."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta
from pathlib import Path

import openpyxl
import pytest

from router.cli import main
from router.web.reports.compute import Group, Report
from router.web.reports.render_xlsx import render_xlsx
from router.web.reports.stats import Stats
from tests.api.conftest import api, api_factory  # noqa: F401  (fixtures)
from tests.reports.test_cli import _history

PERIOD = ["--from", "2026-03-02", "--to", "2026-03-08"]


def _rows(ws) -> list[list]:  # type: ignore[no-untyped-def]
    return [list(r) for r in ws.iter_rows(values_only=True)]


def test_report_xlsx_from_the_command_line_matches_the_json(tmp_path: Path, capsys):
    _history(tmp_path)
    cfg = str(tmp_path / "config.yaml")
    assert main(["report", "-c", cfg, *PERIOD, "--by", "queue", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    out = tmp_path / "r.xlsx"
    assert main(["report", "-c", cfg, *PERIOD, "--by", "queue", "--format", "xlsx",
                 "-o", str(out)]) == 0
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[:2] == ["Overview", "By queue"]
    assert {"By channel", "By agent", "SLA", "Hand-off reasons", "CSAT", "Agents",
            "Busiest hours"} <= set(wb.sheetnames)

    by_queue = _rows(wb["By queue"])
    header = by_queue[0]
    assert header[:3] == ["queue", "opened", "resolved"]
    rows = {r[0]: dict(zip(header, r, strict=True)) for r in by_queue[1:]}
    totals = data["totals"]
    assert rows["all"]["opened"] == totals["opened"] == 5
    assert rows["all"]["resolved"] == totals["resolved"]
    # rates are fractions, durations Excel durations (days): the JSON has percents, seconds
    assert rows["all"]["deflection rate"] == pytest.approx(totals["deflection_rate"] / 100)
    frt = totals["frt"]["median"]
    assert rows["all"]["FRT median"] == timedelta(seconds=frt)  # openpyxl reads durations
    assert wb["By queue"]["H2"].number_format == "[h]:mm:ss"
    assert wb["By queue"]["E2"].number_format == "0.0%"
    billing = next(g for g in data["by"]["queue"] if g["key"] == "billing")
    assert rows["billing"]["opened"] == billing["opened"]

    overview = {r[0]: r[1] for r in _rows(wb["Overview"])[1:]}
    assert overview["opened"] == 5 and overview["from (UTC)"] == datetime(2026, 3, 2)
    assert overview["CSAT ratings"] == data["csat"]["responses"]
    sla = _rows(wb["SLA"])
    assert sla[0] == ["queue", "clock", "ended", "breached", "met", "compliance"]
    assert [r[:4] for r in sla[1:]] == [[s["queue"], s["kind"], s["eligible"], s["breached"]]
                                         for s in data["sla"]]
    reasons = {r[0]: r[1] for r in _rows(wb["Hand-off reasons"])[1:]}
    assert reasons == data["handoff_reasons"]
    assert sum(sum(r[1:]) for r in _rows(wb["Busiest hours"])[1:]) == 5
    assert wb["By queue"].freeze_panes == "A2"


def test_xlsx_on_a_terminal_needs_an_output_file(tmp_path: Path, monkeypatch, capsys):
    _history(tmp_path)
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    assert main(["report", "-c", str(tmp_path / "config.yaml"), "--format", "xlsx"]) == 2
    assert "--output" in capsys.readouterr().err


def test_team_chosen_text_never_becomes_a_formula():
    start = datetime(2026, 3, 2)
    tag = Group("=HYPERLINK(\"http://x\")", opened=1, frt=Stats.of([60.0]))
    report = Report(start, start, start, "UTC", tag, {"tag": [tag]}, {}, [], _csat(), [],
                    [[0] * 24 for _ in range(7)])
    wb = openpyxl.load_workbook(io.BytesIO(render_xlsx(report, "tag")))
    cell = wb["By tag"]["A2"]
    assert cell.data_type == "s" and cell.value == tag.key
    assert wb["By tag"]["B2"].value == 1 and wb["By tag"]["Q2"].value is None


def _csat():  # type: ignore[no-untyped-def]
    from router.web.reports.compute import Csat

    return Csat()


async def test_the_api_downloads_the_report_as_a_workbook(api):  # noqa: F811
    await api.customer("hello")
    headers = {"Authorization": f"Bearer {api.tokens['boss']}"}
    async with api.http.get(api.base + "/reports/download?format=xlsx&by=queue",
                            headers=headers) as r:
        assert r.status == 200
        assert r.content_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        assert r.headers["Content-Disposition"].startswith("attachment; filename=\"report-")
        wb = openpyxl.load_workbook(io.BytesIO(await r.read()))
    rows = _rows(wb["By queue"])
    assert rows[1][:2] == ["general", 1] and rows[-1][:2] == ["all", 1]
    status, _ = await api.call("GET", "/reports/download?format=xlsx", "ann")
    assert status == 403
