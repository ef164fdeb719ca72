"""`/console/reports`: the Reports page of the agent console, for admins.

A small page of its own (not a part of the console's script) with a period form and the
HTML report in a frame: the report is fetched from `/api/v1/reports/download` with the
console's session cookie, so the API's admin check is the only gate, and the report
renders the same as the file the CLI writes.
"""

from __future__ import annotations

from aiohttp import web

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width"><title>Reports – agent console</title>
<style>body{margin:0;font-family:system-ui,sans-serif;background:#f4f6f9}
nav{display:flex;gap:12px;align-items:center;padding:10px 20px;background:#fff;
box-shadow:0 1px 3px #0002}nav a{color:#1f3a5f}label{font-size:14px}
iframe{border:0;width:100%;height:calc(100vh - 56px)}</style></head><body>
<nav><a href="../console">← Console</a><strong>Reports</strong>
<form id="f" action="../api/v1/reports/download" target="report">
<label>From <input type="date" name="start"></label>
<label>To <input type="date" name="end"></label>
<label>By <select name="by"><option>channel</option><option>queue</option><option>agent</option>
<option>language</option><option>tag</option></select></label>
<select name="format"><option value="html">view</option><option value="csv">CSV</option>
<option value="json">JSON</option></select>
<button type="submit">Show</button></form></nav>
<iframe name="report" title="Report" src="../api/v1/reports/download?format=html"></iframe>
</body></html>
"""
HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                      "frame-src 'self'; form-action 'self'",
           "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}


async def reports_page(request: web.Request) -> web.Response:
    return web.Response(text=PAGE, content_type="text/html", headers=HEADERS)


def routes() -> list[web.RouteDef]:
    return [web.get("/console/reports", reports_page)]
