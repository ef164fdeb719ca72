"""HTTP helpers shared by the widget's routes: packaged assets, origins, security headers.

Everything is served from the installed package (no CDN, no build step). Assets are read
once at start-up and answered with an ETag, so a browser revalidates cheaply after an
upgrade instead of running a stale script.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


def load_assets(package: str, folder: str = "static") -> dict[str, Asset]:
    """Every file of `package/folder` by name (flat: no sub-folders, no path tricks)."""
    found: dict[str, Asset] = {}
    for entry in (resources.files(package) / folder).iterdir():
        suffix = "." + entry.name.rsplit(".", 1)[-1]
        if entry.is_file() and suffix in CONTENT_TYPES:
            body = entry.read_bytes()
            etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
            found[entry.name] = Asset(body, CONTENT_TYPES[suffix], etag)
    return found


def asset_response(request: web.Request, asset: Asset | None) -> web.Response:
    if asset is None:
        raise web.HTTPNotFound()
    headers = {"ETag": asset.etag, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    if request.headers.get("If-None-Match") == asset.etag:
        return web.Response(status=304, headers=headers)
    return web.Response(body=asset.body, content_type=asset.content_type.split(";")[0],
                        charset="utf-8" if "charset" in asset.content_type else None,
                        headers=headers)


def is_secure(request: web.Request) -> bool:
    """Behind a TLS-terminating proxy the hop to us is plain HTTP; trust its header for
    cookie flags only (a wrong answer costs the Secure flag, never access)."""
    return request.secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https"


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
    even a missed escape could not run an injected handler."""
    ancestors = " ".join(["'self'", *frame_ancestors])
    csp = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
           f"connect-src 'self'; base-uri 'none'; form-action 'self'; object-src 'none'; "
           f"frame-ancestors {ancestors}")
    return {"Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin", "Cache-Control": "no-store"}


def script_json(data: Any) -> str:
    """JSON safe inside `<script type="application/json">`: no `</script>` break-out."""
    return (json.dumps(data, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("&", "\\u0026"))
