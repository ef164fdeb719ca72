"""The console's page and files, served from the installed package (no CDN, no build).

Files are read once at start-up and answered with an ETag, so a browser revalidates
cheaply after an upgrade instead of running a stale script.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

from aiohttp import web

CONTENT_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css",
                 ".svg": "image/svg+xml"}
#: scripts only from us and no inline script at all, so even a missed escape could not
#: run an injected handler; never framed (clickjacking the claim/resolve buttons)
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; base-uri 'none'; form-action 'self'; object-src 'none'; "
       "frame-ancestors 'none'")
PAGE_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "same-origin", "Cache-Control": "no-store",
                "X-Frame-Options": "DENY"}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


def load_assets(package: str = "router.console", folder: str = "static") -> dict[str, Asset]:
    """Every file of `package/folder` by name (flat: no sub-folders, no path tricks)."""
    found: dict[str, Asset] = {}
    for entry in (resources.files(package) / folder).iterdir():
        suffix = "." + entry.name.rsplit(".", 1)[-1]
        if entry.is_file() and suffix in CONTENT_TYPES:
            body = entry.read_bytes()
            etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
            found[entry.name] = Asset(body, CONTENT_TYPES[suffix], etag)
    return found


def respond(request: web.Request, asset: Asset | None, *, page: bool = False) -> web.Response:
    if asset is None:
        raise web.HTTPNotFound()
    headers = dict(PAGE_HEADERS) if page else {"Cache-Control": "no-cache",
                                               "X-Content-Type-Options": "nosniff"}
    headers["ETag"] = asset.etag
    if request.headers.get("If-None-Match") == asset.etag:
        return web.Response(status=304, headers=headers)
    charset = None if asset.content_type == "image/svg+xml" else "utf-8"
    return web.Response(body=asset.body, content_type=asset.content_type, charset=charset,
                        headers=headers)


def is_secure(request: web.Request) -> bool:
    """Behind a TLS-terminating proxy the hop to us is plain HTTP; trust its header for
    the cookie's Secure flag only (a wrong answer costs the flag, never access)."""
    return request.secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https"
