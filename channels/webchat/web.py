"""HTTP helpers shared by the widget's routes: packaged assets, origins, security headers.

Everything is served from the installed package (no CDN, no build step). Assets are read
once at start-up and answered with an ETag, so a browser revalidates cheaply after an
upgrade instead of running a stale script.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web


def origin_allowed(request: web.Request, allowed: Iterable[str]) -> bool:
    """No Origin (not a browser) or our own host or an allowed embedding site."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    origin = origin.lower()
    if urlsplit(origin).netloc == request.host.lower():
        return True
    return origin in set(allowed)


def page_headers(frame_ancestors: Iterable[str] = ()) -> dict[str, str]:
    """Strict headers for our pages: scripts only from us, no inline script at all, so
    even a missed escape could not run an injected handler. Images may be `blob:` URLs:
    files the widget fetched with the visitor's token (issue 24)."""
    ancestors = " ".join(["'self'", *frame_ancestors])
    csp = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
           f"connect-src 'self'; base-uri 'none'; form-action 'self'; object-src 'none'; "
           f"frame-ancestors {ancestors}")
    return {"Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin", "Cache-Control": "no-store"}


def script_json(data: Any) -> str:
    """JSON safe inside `<script type="application/json">`: no `</script>` break-out."""
    return (json.dumps(data, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("&", "\\u0026"))


_PLACEHOLDER = re.compile(r"__(CONFIG|LANG|T_[a-z_]+)__")


def render_page(template: str, *, lang: str, strings: Mapping[str, str], config: Any) -> str:
    """The chat page in `lang`: `__T_<key>__` becomes that string (HTML-escaped),
    `__LANG__` the code and `__CONFIG__` the page's JSON. One pass, so an admin's text
    that happens to contain a placeholder stays text."""
    def fill(m: re.Match[str]) -> str:
        name = m[1]
        if name == "CONFIG":
            return script_json(config)
        if name == "LANG":
            return html.escape(lang, quote=True)
        return html.escape(strings[name[2:]], quote=True)

    return _PLACEHOLDER.sub(fill, template)


def render_loader(template: str, setup: Any) -> str:
    """The embed loader with its `__SETUP__` (languages and button labels) filled in."""
    return template.replace("__SETUP__", script_json(setup), 1)
