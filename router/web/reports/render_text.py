"""Terminal table, CSV and JSON renderings of a `Report`."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from router.store.base import ts
from router.web.reports.compute import Group, Report
from router.web.reports.stats import duration

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
COLUMNS = ("opened", "resolved", "deflected %", "handoff %", "FRT median", "FRT p90",
           "FRT median (bh)", "resolution median", "CSAT")


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v:g}%"


def group_cells(g: Group) -> list[str]:
    return [str(g.opened), str(g.resolved), _pct(g.deflection_rate), _pct(g.handoff_rate),
            duration(g.frt.median), duration(g.frt.p90), duration(g.frt_business.median),
            duration(g.resolution.median),
            "–" if g.csat_average is None else f"{g.csat_average:.2f} ({g.csat_count})"]


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=False)]
    line = "  ".join("-" * w for w in widths)

    def fmt(cells: Sequence[str]) -> str:
        return "  ".join(str(c).rjust(w) if i else str(c).ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=False)))

    return "\n".join([fmt(headers), line, *(fmt(r) for r in rows)])


def render_table(report: Report, by: str = "channel", *, title: str = "Inquiry Router") -> str:
    """`title` is the service's name (`service.name`)."""
    r = report
    out = [f"{title} report {ts(r.start)[:16]} – {ts(r.end)[:16]} (UTC; hours in "
           f"{r.timezone})", ""]
    rows = [[g.key, *group_cells(g)] for g in r.by[by]] + [["all", *group_cells(r.totals)]]
    out += [table([by, *COLUMNS], rows), ""]
    if r.handoff_reasons:
        out += ["Hand-off reasons", table(["reason", "conversations"],
                                          [[k, str(v)] for k, v in r.handoff_reasons.items()]), ""]
    if r.sla:
        out += ["SLA compliance", table(["queue", "clock", "ended", "breached", "met"], [
            [s.queue, s.kind, str(s.eligible), str(s.breached),
             "no data" if s.compliance is None else _pct(s.compliance)]
            for s in r.sla]), ""]
    c = r.csat
    dist = "  ".join(f"{k}★ {v}" for k, v in c.distribution.items())
    out += [f"CSAT: average {c.average if c.average is not None else '–'} from {c.responses} "
            f"ratings; response rate {_pct(c.response_rate)} of {c.surveyed} surveyed; "
            f"{c.comments} comments", f"      {dist}", ""]
    if r.agents:
        out += ["Agents", table(["agent", "assigned", "replies", "first responses", "resolved",
                                 "FRT median", "FRT p90", "CSAT"], [
            [a.agent, str(a.assigned), str(a.replies), str(a.first_responses), str(a.resolved),
             duration(a.frt.median), duration(a.frt.p90),
             "–" if a.csat_average is None else f"{a.csat_average:.2f}"] for a in r.agents]), ""]
    busiest = sorted(((n, d, h) for d, hours in enumerate(r.heatmap) for h, n in enumerate(hours)
                      if n), reverse=True)[:5]
    if busiest:
        out.append("Busiest hours: " + ", ".join(f"{DAYS[d]} {h:02d}:00 ({n})"
                                                   for n, d, h in busiest))
    return "\n".join(out) + "\n"


CSV_FIELDS = ("dimension", "key", "opened", "resolved", "deflected", "deflection_rate",
              "handed_off", "handoff_rate", "frt_median_s", "frt_p90_s", "frt_business_median_s",
              "frt_business_p90_s", "resolution_median_s", "resolution_p90_s",
              "resolution_business_median_s", "resolution_business_p90_s", "csat_count",
              "csat_average")


def render_csv(report: Report, by: str = "channel") -> str:
    """One row per value of the `by` dimension, then the totals: spreadsheet-ready."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_FIELDS)
    for dim, g in [*((by, g) for g in report.by[by]), ("all", report.totals)]:
        w.writerow([dim, g.key, g.opened, g.resolved, g.deflected, g.deflection_rate,
                    g.handed_off, g.handoff_rate, g.frt.median, g.frt.p90,
                    g.frt_business.median, g.frt_business.p90, g.resolution.median,
                    g.resolution.p90, g.resolution_business.median, g.resolution_business.p90,
                    g.csat_count, g.csat_average])
    return buf.getvalue()


def render_json(report: Report) -> str:
    return json.dumps(report.as_dict(), indent=2, ensure_ascii=False) + "\n"
