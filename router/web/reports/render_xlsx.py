"""An Excel workbook (.xlsx) of a `Report`, for analysts (issue 27).

One sheet per table of the report, every figure a number: durations are Excel durations
(shown `[h]:mm:ss`, so AVERAGE and sorting work), rates are fractions shown as percents,
counts are integers, and a missing figure (nothing to measure) is an empty cell, never
a dash. Each table has its header frozen and an autofilter. Text that the team chose
(tags, queue and agent names) is always written as text: a value starting with `=` must
not become a formula in someone's spreadsheet.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from router.web.reports.compute import DIMENSIONS, Group, Report
from router.web.reports.render_text import DAYS
from router.web.reports.stats import Stats

DURATION = "[h]:mm:ss"
PERCENT = "0.0%"
AVERAGE = "0.00"
BOLD = Font(bold=True)
MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

GROUP_HEADERS = ("opened", "resolved", "deflected", "deflection rate", "handed off",
                 "handoff rate", "FRT median", "FRT p90", "FRT median (business hours)",
                 "FRT p90 (business hours)", "resolution median", "resolution p90",
                 "resolution median (business hours)", "resolution p90 (business hours)",
                 "CSAT ratings", "CSAT average")
GROUP_FORMATS = (None, None, None, PERCENT, None, PERCENT, *([DURATION] * 8), None, AVERAGE)


class Cell:
    """A value with its number format."""

    __slots__ = ("fmt", "value")

    def __init__(self, value: Any, fmt: str | None = None) -> None:
        self.value, self.fmt = value, fmt


def _days(seconds: float | None) -> float | None:
    """Seconds as an Excel duration (a fraction of a day)."""
    return None if seconds is None else seconds / 86400


def _fraction(pct: float | None) -> float | None:
    return None if pct is None else pct / 100


def _stats(s: Stats) -> list[float | None]:
    return [_days(s.median), _days(s.p90)]


def group_values(g: Group) -> list[Any]:
    return [g.opened, g.resolved, g.deflected, _fraction(g.deflection_rate), g.handed_off,
            _fraction(g.handoff_rate), *_stats(g.frt), *_stats(g.frt_business),
            *_stats(g.resolution), *_stats(g.resolution_business), g.csat_count,
            g.csat_average]


def _put(ws: Worksheet, row: int, col: int, value: Any, fmt: str | None = None) -> None:
    cell = ws.cell(row=row, column=col)
    if isinstance(value, datetime):
        value = value.replace(tzinfo=None)  # Excel has no time zones; the sheet says UTC
    cell.value = value
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"  # text, never a formula
    if fmt:  # empty cells too: a figure typed in later shows like its column
        cell.number_format = fmt


def _table(ws: Worksheet, headers: Sequence[str], rows: Iterable[Sequence[Any]],
           formats: Sequence[str | None] = (), *, top: int = 1) -> int:
    """Headers in bold at row `top`, then the rows; frozen header and an autofilter.
    Returns the next free row."""
    for col, header in enumerate(headers, 1):
        _put(ws, top, col, header)
        ws.cell(row=top, column=col).font = BOLD
    r = top
    for r, values in enumerate(rows, top + 1):
        for col, value in enumerate(values, 1):
            fmt = formats[col - 1] if col - 1 < len(formats) else None
            _put(ws, r, col, value, fmt)
    last = get_column_letter(len(headers))
    ws.auto_filter.ref = f"A{top}:{last}{max(r, top)}"
    ws.freeze_panes = ws.cell(row=top + 1, column=1)
    for col, header in enumerate(headers, 1):
        ws.column_dimensions[get_column_letter(col)].width = max(12, min(40, len(header) + 2))
    return r + 1


def _overview(ws: Worksheet, report: Report, title: str) -> None:
    r = report
    c = r.csat
    rows: list[tuple[str, Any, str | None]] = [
        ("report", f"{title} report", None),
        ("from (UTC)", r.start, "yyyy-mm-dd hh:mm"),
        ("to, excluded (UTC)", r.end, "yyyy-mm-dd hh:mm"),
        ("generated (UTC)", r.generated_at, "yyyy-mm-dd hh:mm"),
        ("hours shown in", r.timezone, None),
        *((h, v, f) for h, v, f in zip(GROUP_HEADERS, group_values(r.totals), GROUP_FORMATS,
                                         strict=True)),
        ("CSAT surveys sent", c.surveyed, None),
        ("CSAT response rate", _fraction(c.response_rate), PERCENT),
        ("CSAT comments", c.comments, None),
    ]
    _table(ws, ("figure", "value"), [(h, v) for h, v, _ in rows])
    for i, (_, value, fmt) in enumerate(rows, 2):
        if fmt and value is not None:
            ws.cell(row=i, column=2).number_format = fmt
    ws.column_dimensions["A"].width = 36
    ws.column_dimensions["B"].width = 24


def _groups(ws: Worksheet, report: Report, dimension: str) -> None:
    rows = [[g.key, *group_values(g)] for g in report.by.get(dimension, [])]
    rows.append(["all", *group_values(report.totals)])
    _table(ws, (dimension, *GROUP_HEADERS), rows, (None, *GROUP_FORMATS))


def render_xlsx(report: Report, by: str = "channel", *, title: str = "Inquiry Router") -> bytes:
    """The workbook as bytes: an overview, one sheet per breakdown (`by` first), SLA,
    hand-off reasons, CSAT, agents and the busiest hours."""
    wb = Workbook()
    overview = wb.active
    assert overview is not None
    overview.title = "Overview"
    _overview(overview, report, title)
    for dimension in (by, *(d for d in DIMENSIONS if d != by)):
        if dimension in report.by:
            _groups(wb.create_sheet(f"By {dimension}"), report, dimension)
    _table(wb.create_sheet("SLA"), ("queue", "clock", "ended", "breached", "met", "compliance"),
           [(s.queue, s.kind, s.eligible, s.breached, s.eligible - s.breached,
             _fraction(s.compliance)) for s in report.sla],
           (None, None, None, None, None, PERCENT))
    _table(wb.create_sheet("Hand-off reasons"), ("reason", "conversations"),
           list(report.handoff_reasons.items()))
    _table(wb.create_sheet("CSAT"), ("score", "ratings"),
           [(int(k), v) for k, v in report.csat.distribution.items()])
    _table(wb.create_sheet("Agents"),
           ("agent", "assigned", "replies", "first responses", "resolved", "FRT median",
            "FRT p90", "FRT median (business hours)", "FRT p90 (business hours)",
            "CSAT average"),
           [(a.agent, a.assigned, a.replies, a.first_responses, a.resolved, *_stats(a.frt),
             *_stats(a.frt_business), a.csat_average) for a in report.agents],
           (None, None, None, None, None, *([DURATION] * 4), AVERAGE))
    _table(wb.create_sheet("Busiest hours"), (f"day ({report.timezone})",
                                              *(f"{h:02d}:00" for h in range(24))),
           [(DAYS[d], *hours) for d, hours in enumerate(report.heatmap)])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
