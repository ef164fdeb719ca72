"""`/console/reports`: the Reports page of the agent console, for admins.

A small page of its own (not a part of the console's script) with a period form and the
HTML report in a frame: the report is fetched from `/api/v1/reports/download` with the
console's session cookie, so the API's admin check is the last gate, and the report
renders the same as the file the CLI writes. The page itself looks at the session first:
someone who is not signed in, or not an admin, gets a short page that says so (not the
API's JSON error inside the frame). The form's date fields show the period the report in
the frame covers (by default the last 30 days, today included).

`router/web/console/mount.py` provides what the page needs (`PAGE_SETUP`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

from aiohttp import web

from router.domain.model import Agent, Role
from router.web.reports.compute import period

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width"><title>Reports · __TITLE__</title>
<style>body{margin:0;font-family:system-ui,sans-serif;background:#f4f6f9}
nav{display:flex;gap:12px;align-items:center;padding:10px 20px;background:#fff;
box-shadow:0 1px 3px #0002}nav a{color:#1f3a5f}label{font-size:14px}
iframe{border:0;width:100%;height:calc(100vh - 56px)}
main{max-width:40em;margin:40px auto;padding:20px 28px;background:#fff;border-radius:10px;
box-shadow:0 1px 3px #0002}</style></head><body>
<nav><a href="../console">← Console</a><strong>Reports</strong>__BODY__
</body></html>
"""
FORM = """
<form id="f" action="../api/v1/reports/download" target="report">
<label>From <input type="date" name="start" value="__START__"></label>
<label>To <input type="date" name="end" value="__END__"></label>
<label>By <select name="by"><option>channel</option><option>queue</option><option>agent</option>
<option>language</option><option>tag</option></select></label>
<select name="format"><option value="html">view</option><option value="csv">CSV</option>
<option value="json">JSON</option><option value="xlsx">Excel</option></select>
<button type="submit">Show</button></form></nav>
<iframe name="report" title="Report"
 src="../api/v1/reports/download?format=html&amp;start=__START__&amp;end=__END__"></iframe>"""
REFUSED = """</nav>
<main role="alert"><h1>__HEADING__</h1><p>__TEXT__</p></main>"""
HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                      "frame-src 'self'; form-action 'self'",
           "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}

SessionAgent = Callable[[web.Request], Awaitable["Agent | web.Response | None"]]


@dataclass(frozen=True, slots=True)
class PageSetup:
    title: str  # service.name
    session_agent: SessionAgent  # the console session's agent (router.web.api.hooks.SESSION_AUTH)
    clock: Callable[[], datetime]


PAGE_SETUP = web.AppKey("reports_page", PageSetup)


def applied_days(now: datetime) -> tuple[str, str]:
    """The default period as the form shows it: first day and last day (included)."""
    start, end = period(30, now)
    return f"{start:%Y-%m-%d}", f"{end - timedelta(days=1):%Y-%m-%d}"


def _page(title: str, body: str, status: int = 200) -> web.Response:
    text = PAGE.replace("__TITLE__", escape(title)).replace("__BODY__", body)
    return web.Response(text=text, status=status, content_type="text/html", headers=HEADERS)


def refused(title: str, heading: str, text: str, status: int) -> web.Response:
    body = REFUSED.replace("__HEADING__", escape(heading)).replace("__TEXT__", escape(text))
    return _page(title, body, status)


async def reports_page(request: web.Request) -> web.Response:
    setup = request.app[PAGE_SETUP]
    found = await setup.session_agent(request)
    if not isinstance(found, Agent):
        return refused(setup.title, "Sign in first", "Reports are for admins: sign in to the "
                       "console with an admin account, then open Reports again.", 401)
    if found.role != Role.ADMIN:
        return refused(setup.title, "Reports are for admins", f"You are signed in as "
                       f"{found.name} ({found.role.value}). Ask an admin for a report, or for the "
                       "admin role.", 403)
    start, end = applied_days(setup.clock())
    return _page(setup.title, FORM.replace("__START__", start).replace("__END__", end))


def routes() -> list[web.RouteDef]:
    return [web.get("/console/reports", reports_page)]
