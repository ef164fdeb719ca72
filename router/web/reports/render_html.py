"""One self-contained HTML file: inline CSS and SVG charts, no script, no network.

Every text that comes from data (queue, tag, agent names, reasons) goes through
`html.escape`; the file carries a CSP that forbids loading anything, so it can be mailed
around and opened anywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from router.store.base import ts
from router.web.reports.compute import Report, SlaRow
from router.web.reports.render_text import DAYS, group_cells
from router.web.reports.stats import duration

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;background:#f4f6f9;
color:#1d2733}
header{background:#1f3a5f;color:#fff;padding:24px 40px}header h1{margin:0;font-size:24px}
header p{margin:6px 0 0;opacity:.8}main{padding:24px 40px;max-width:1200px}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:16px}
.kpi{background:#fff;border-radius:10px;padding:16px;box-shadow:0 1px 3px #0002}
.kpi b{display:block;font-size:28px;color:#1f3a5f}.kpi span{color:#5b6b7d;font-size:13px}
section{background:#fff;border-radius:10px;padding:16px 20px;margin:20px 0;
box-shadow:0 1px 3px #0002}h2{font-size:17px;margin:0 0 12px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:20px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:6px 8px;border-bottom:1px solid #e4e8ee;text-align:right}
th:first-child,td:first-child{text-align:left}th{color:#5b6b7d;font-weight:600}
svg text{font-family:inherit;font-size:12px;fill:#1d2733}.muted{color:#5b6b7d}
"""
COLORS = ("#3b7dd8", "#35a57b", "#e0a33a", "#d9534f", "#7a5cc7", "#2fa3b5")


def bars(title: str, items: Sequence[tuple[str, float | int]], *, unit: str = "",
         color: str = COLORS[0], width: int = 520) -> str:
    """A horizontal bar chart as inline SVG (one row per item, value printed at the end)."""
    if not items:
        return f"<p class='muted'>{escape(title)}: no data</p>"
    top = max(v for _, v in items) or 1
    label_w, row_h = 140, 26
    height = row_h * len(items) + 10
    out = [f"<svg class='chart' role='img' aria-label='{escape(title)}' width='{width}' "
           f"height='{height}' viewBox='0 0 {width} {height}' xmlns='http://www.w3.org/2000/svg'>"
           f"<title>{escape(title)}</title>"]
    for i, (label, value) in enumerate(items):
        y = 5 + i * row_h
        w = max(1.0, (width - label_w - 70) * value / top)
        out.append(f"<text x='0' y='{y + 16}'>{escape(label[:22])}</text>"
                   f"<rect x='{label_w}' y='{y + 3}' width='{w:.1f}' height='{row_h - 8}' "
                   f"rx='3' fill='{color}'/><text x='{label_w + w + 6:.1f}' y='{y + 16}'>"
                   f"{escape(_num(value))}{escape(unit)}</text>")
    return "".join(out) + "</svg>"


def _num(v: float) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def heatmap_svg(grid: list[list[int]], tz: str) -> str:
    cell, left, topm = 22, 40, 20
    top = max((n for row in grid for n in row), default=0) or 1
    w, h = left + 24 * cell, topm + 7 * cell
    out = [f"<svg class='chart heatmap' role='img' aria-label='Busiest hours' width='{w}' "
           f"height='{h}' viewBox='0 0 {w} {h}' xmlns='http://www.w3.org/2000/svg'>"
           f"<title>Conversations opened per weekday and hour ({escape(tz)})</title>"]
    out += [f"<text x='{left + hh * cell + 4}' y='14'>{hh:02d}</text>" for hh in range(0, 24, 3)]
    for d, row in enumerate(grid):
        y = topm + d * cell
        out.append(f"<text x='0' y='{y + 15}'>{DAYS[d]}</text>")
        for hh, n in enumerate(row):
            alpha = 0.06 + 0.94 * n / top if n else 0.04
            out.append(f"<rect x='{left + hh * cell}' y='{y}' width='{cell - 2}' "
                       f"height='{cell - 2}' rx='3' fill='#3b7dd8' fill-opacity='{alpha:.2f}'>"
                       f"<title>{DAYS[d]} {hh:02d}:00 – {n}</title></rect>")
    return "".join(out) + "</svg>"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in r) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _kpis(r: Report) -> str:
    t, c = r.totals, r.csat
    kpis = [("Conversations opened", str(t.opened)), ("Resolved", str(t.resolved)),
            ("Bot deflection", f"{t.deflection_rate or 0:g}%"),
            ("Hand-off rate", f"{t.handoff_rate or 0:g}%"),
            ("First response (median, business hours)", duration(t.frt_business.median)),
            ("CSAT average", "–" if c.average is None else f"{c.average:.2f} / 5")]
    return "<div class='kpis'>" + "".join(
        f"<div class='kpi'><b>{escape(v)}</b><span>{escape(k)}</span></div>"
        for k, v in kpis) + "</div>"


def _sla_label(s: SlaRow) -> str:
    return f"{s.queue} {s.kind.replace('_', ' ')}"


def render_html(report: Report, by: str = "channel", *, title: str = "Inquiry Router") -> str:
    """`title` is the service's name (`service.name`)."""
    from router.web.reports.render_text import COLUMNS

    r = report
    period = f"{ts(r.start)[:10]} – {ts(r.end)[:10]}"
    by_rows = [[g.key, *group_cells(g)] for g in r.by[by]] + [["all", *group_cells(r.totals)]]
    groups = r.by[by]
    csat_items = [(f"{k} ★", float(v)) for k, v in r.csat.distribution.items()]
    sla_items = [(_sla_label(s), s.compliance) for s in r.sla if s.compliance is not None]
    sla_empty = [_sla_label(s) for s in r.sla if s.compliance is None]
    frt_items = [(g.key, round(g.frt_business.median / 60, 1)) for g in groups
                 if g.frt_business.median is not None]
    charts = [
        (f"Opened per {by}", bars(f"Opened per {by}", [(g.key, g.opened) for g in groups])),
        (f"Resolved per {by}", bars(f"Resolved per {by}", [(g.key, g.resolved) for g in groups],
                                    color=COLORS[1])),
        ("Hand-off reasons", bars("Hand-off reasons", list(r.handoff_reasons.items()),
                                  color=COLORS[2])),
        ("CSAT distribution", bars("CSAT distribution", csat_items, color=COLORS[4])
         + f"<p class='muted'>{r.csat.responses} ratings from {r.csat.surveyed} surveys "
           f"({r.csat.response_rate or 0:g}% responded), {r.csat.comments} comments</p>"),
        ("SLA compliance", (bars("SLA compliance", sla_items, unit="%", color=COLORS[1])
                            if sla_items or not sla_empty else "")
         + "".join(f"<p class='muted'>{escape(label)}: no data (no conversation's clock "
                   "ended in the period)</p>" for label in sla_empty)),
        (f"First response per {by}, median (business hours)",
         bars("First response median", frt_items, unit=" min", color=COLORS[5])),
    ]
    sections = [
        _kpis(r),
        "<div class='grid'>" + "".join(f"<section><h2>{escape(t)}</h2>{c}</section>"
                                       for t, c in charts) + "</div>",
        f"<section><h2>By {escape(by)}</h2>{_table([by, *COLUMNS], by_rows)}</section>",
        f"<section><h2>Busiest hours ({escape(r.timezone)})</h2>"
        f"{heatmap_svg(r.heatmap, r.timezone)}</section>",
    ]
    if r.agents:
        sections.append("<section><h2>Agents</h2>" + _table(
            ["agent", "assigned", "replies", "first responses", "resolved", "FRT median",
             "FRT p90", "CSAT"],
            [[a.agent, a.assigned, a.replies, a.first_responses, a.resolved,
              duration(a.frt.median), duration(a.frt.p90),
              "–" if a.csat_average is None else f"{a.csat_average:.2f}"] for a in r.agents])
            + "</section>")
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">"
            f"<meta name='viewport' content='width=device-width'>"
            f"<title>{escape(title)} report {escape(period)}</title><style>{STYLE}</style></head>"
            f"<body><header><h1>{escape(title)} — report</h1><p>{escape(period)} · generated "
            f"{escape(ts(r.generated_at)[:16])} UTC</p></header><main>{''.join(sections)}"
            "</main></body></html>\n")
