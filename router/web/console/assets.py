"""The console's page and files (router/web/static.py serves them) and its page headers."""

from __future__ import annotations

from aiohttp import web

from router.web.static import Asset, serve_asset

#: scripts only from us and no inline script at all, so even a missed escape could not
#: run an injected handler; never framed (clickjacking the claim/resolve buttons)
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; base-uri 'none'; form-action 'self'; object-src 'none'; "
       "frame-ancestors 'none'")
PAGE_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "same-origin", "Cache-Control": "no-store",
                "X-Frame-Options": "DENY"}


def respond(request: web.Request, asset: Asset | None, *, page: bool = False) -> web.Response:
    return serve_asset(request, asset, PAGE_HEADERS if page else None)


_PAGE_HEAD = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{page} · __TITLE__</title>
<link rel="stylesheet" href="static/console.css">
<script src="static/{script}" defer></script>
</head>
<body>
<header class="top">
  <h1 class="brand">__TITLE__</h1>
  <a href="../console">← Console</a>
</header>
"""


def page_head(*, page: str, script: str) -> str:
    """The start of a console side page (FAQ suggestions, security, audit log): its title,
    the console's style sheet, its own script, and the header linking back. `__TITLE__`
    is left for the page's routes to fill with the service's name, escaped."""
    return _PAGE_HEAD.format(page=page, script=script)

