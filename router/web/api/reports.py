"""Reports and data protection over the API (issue 13): admins only.

`GET /reports` is the report as JSON; `/reports/download` the same as a CSV, JSON,
self-contained HTML or Excel (xlsx, issue 27) file. `GET /contacts/{id}/export` and
`POST /contacts/{id}/erase` are the GDPR access and erasure requests (the data dir comes from the service).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BeforeValidator, Field

from router.domain.agent_errors import ActionRejected
from router.domain.model import Agent
from router.engine import audit
from router.engine.privacy.erase import erase_contact
from router.engine.privacy.export import export_contact, resolve_contact
from router.web.api.models import JsonBody, Query
from router.web.api.routing import DESK, Route, path_int
from router.web.reports.compute import Report, period
from router.web.reports.load import build_report, parse_day_or_time, policy_options
from router.web.reports.render_html import CSP, render_html
from router.web.reports.render_text import render_csv, render_json

DATA_DIR = web.AppKey("privacy_data_dir", Path)
TITLE = web.AppKey("report_title", str)  # service.name, the reports' title


class ReportQuery(Query):
    start: str = Field("", description="first day (YYYY-MM-DD) or ISO time; default: 30 days "
                       "ago (like the CLI's --from)")
    end: str = Field("", description="last day, included (YYYY-MM-DD), or an ISO time "
                     "(excluded); like the CLI's --to")
    by: Literal["channel", "queue", "agent", "language", "tag"] = "channel"


class DownloadQuery(ReportQuery):
    format: Literal["csv", "json", "html", "xlsx"] = "html"


def _exactly_true(value: Any) -> Any:
    # Literal[True] alone also takes 1 and 1.0 (they equal True); erasure wants `true`
    if value is not True:
        raise ValueError("must be true: erasure cannot be undone")
    return value


class EraseBody(JsonBody):
    confirm: Annotated[Literal[True], BeforeValidator(_exactly_true)] = Field(
        description="must be true: erasure cannot be undone")


def window(q: ReportQuery, now: datetime) -> tuple[datetime, datetime]:
    """The period a query asks for: the last 30 days with today when it names none."""
    start, end = period(30, now)
    try:
        start = parse_day_or_time(q.start) if q.start else start
        end = parse_day_or_time(q.end, end=True) if q.end else end
    except ValueError as exc:
        raise ActionRejected(f"query.start/end: {exc}") from None
    if end <= start:
        raise ActionRejected("query.end: must be after 'start'")
    return start, end


async def _report(request: web.Request, q: ReportQuery) -> Report:
    desk = request.app[DESK]
    calendar, tz, targets = policy_options(desk.policy)
    start, end = window(q, desk.clock())
    return await build_report(desk.store, start, end, calendar=calendar, tz=tz,
                              sla_targets=targets, now=desk.clock())


async def get_report(request: web.Request, agent: Agent, query: ReportQuery) -> dict[str, Any]:
    return (await _report(request, query)).as_dict()


async def download_report(request: web.Request, agent: Agent,
                          query: DownloadQuery) -> web.Response:
    report = await _report(request, query)
    name = f"report-{report.start:%Y%m%d}-{report.end:%Y%m%d}.{query.format}"
    by = audit.by_agent(agent, request.remote)
    await request.app[DESK].store.write(lambda tx: audit.report_made(
        tx, by, report.start, report.end, fmt=query.format, grouping=query.by,
        now=request.app[DESK].clock()))
    headers = {"Content-Disposition": f'inline; filename="{name}"',
               "X-Content-Type-Options": "nosniff"}
    if query.format == "csv":
        return web.Response(text=render_csv(report, query.by), content_type="text/csv",
                            headers=headers)
    if query.format == "json":
        return web.Response(text=render_json(report), content_type="application/json",
                            headers=headers)
    if query.format == "xlsx":  # issue 27: a workbook is saved, never shown in a frame
        from router.web.reports.render_xlsx import MIME, render_xlsx

        body = render_xlsx(report, query.by, title=request.app.get(TITLE, "Inquiry Router"))
        return web.Response(body=body, content_type=MIME, headers={
            **headers, "Content-Disposition": f'attachment; filename="{name}"'})
    html = render_html(report, query.by, title=request.app.get(TITLE, "Inquiry Router"))
    return web.Response(text=html, content_type="text/html",
                        headers={**headers, "Content-Security-Policy": CSP})


def _data_dir(request: web.Request) -> Path:
    found = request.app.get(DATA_DIR)
    if found is None:
        raise ActionRejected("this service has no data dir configured for privacy requests")
    return found


async def export(request: web.Request, agent: Agent) -> dict[str, Any]:
    store = request.app[DESK].store
    contact = await resolve_contact(store, contact_id=path_int(request))
    return await export_contact(store, contact, _data_dir(request), now=request.app[DESK].clock(),
                                by=audit.by_agent(agent, request.remote))


async def erase(request: web.Request, agent: Agent, body: EraseBody) -> dict[str, Any]:
    desk = request.app[DESK]
    contact = await resolve_contact(desk.store, contact_id=path_int(request))
    result = await erase_contact(desk.store, contact, _data_dir(request), now=desk.clock(),
                                 by=audit.by_agent(agent, request.remote))
    return result.as_dict()


def routes() -> list[Route]:
    one = "/contacts/{id}"
    return [
        Route("GET", "/reports", get_report, "Report for a period: volume, response times, SLA, "
              "CSAT, workload, busiest hours (JSON)", "reports", admin=True, query=ReportQuery),
        Route("GET", "/reports/download", download_report, "The report as a CSV, JSON, "
              "self-contained HTML or Excel (xlsx) file", "reports", admin=True,
              query=DownloadQuery, media=("text/csv", "application/json", "text/html",
                                          "application/vnd.openxmlformats-officedocument."
                                          "spreadsheetml.sheet")),
        Route("GET", one + "/export", export, "Everything stored about a contact (GDPR "
              "access request)", "privacy", admin=True),
        Route("POST", one + "/erase", erase, "Erase a contact everywhere, keeping aggregate "
              "figures (GDPR erasure)", "privacy", admin=True, body=EraseBody),
    ]

