"""Files served from the installed package (web chat, console): no CDN, no build step.

Files are read once at start-up and answered with an ETag, so a browser revalidates
cheaply after an upgrade instead of running a stale script.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

from aiohttp import web

CONTENT_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css",
                 ".svg": "image/svg+xml", ".json": "application/json"}
_TEXT = ("text/html", "text/javascript", "text/css", "application/json")


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    content_type: str
    etag: str

    @classmethod
    def of(cls, body: bytes, content_type: str) -> Asset:
        return cls(body, content_type, '"' + hashlib.sha256(body).hexdigest()[:20] + '"')


def load_assets(package: str, folder: str = "static") -> dict[str, Asset]:
    """Every file of `package/folder` by name (flat: no sub-folders, no path tricks)."""
    found: dict[str, Asset] = {}
    for entry in (resources.files(package) / folder).iterdir():
        suffix = "." + entry.name.rsplit(".", 1)[-1]
        if entry.is_file() and suffix in CONTENT_TYPES:
            found[entry.name] = Asset.of(entry.read_bytes(), CONTENT_TYPES[suffix])
    return found


def serve_asset(request: web.Request, asset: Asset | None,
                headers: Mapping[str, str] | None = None) -> web.Response:
    """The asset with its ETag (304 when the browser has it); 404 for an unknown name."""
    if asset is None:
        raise web.HTTPNotFound()
    out = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff", **(headers or {}),
           "ETag": asset.etag}
    if request.headers.get("If-None-Match") == asset.etag:
        return web.Response(status=304, headers=out)
    charset = "utf-8" if asset.content_type in _TEXT else None
    return web.Response(body=asset.body, content_type=asset.content_type, charset=charset,
                        headers=out)


def is_secure(request: web.Request) -> bool:
    """Behind a TLS-terminating proxy the hop to us is plain HTTP; trust its header for
    cookie flags only (a wrong answer costs the Secure flag, never access)."""
    return request.secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https"
