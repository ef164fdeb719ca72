"""Answering a request for a stored file: the agents' API and the web chat (issue 24).

The type sent is the sniffed one (`sniff`), never the name's or the sender's claim, with
`X-Content-Type-Options: nosniff` so a browser does not guess either. Raster images may
be shown inline (previews); everything else is `Content-Disposition: attachment`, and a
type we do not take is sent as `application/octet-stream`. A CSP of `default-src 'none';
sandbox` means that even a file opened directly runs nothing.

Files are where a message's attachment says: `stored` (relative to the data dir: web chat
and console uploads, Telegram downloads), or a part of a raw mail the email channel kept
(`ref` = `email-raw:<sha256>#<part path>`).
"""

from __future__ import annotations

import asyncio
from email import policy
from email.message import Message
from email.parser import BytesParser
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

from aiohttp import web

from router.web.attachments.keep import inside
from router.web.attachments.sniff import ALLOWED, HEAD, IMAGES, safe_name, sniff

HEADERS: Final = {"X-Content-Type-Options": "nosniff",
                  "Content-Security-Policy": "default-src 'none'; sandbox",
                  "Cache-Control": "private, max-age=3600", "Referrer-Policy": "no-referrer",
                  "Cross-Origin-Resource-Policy": "same-origin"}
EMAIL_RAW: Final = "email-raw:"
MAX_EMAIL_PARTS: Final = 500


def disposition(kind: str, name: str) -> str:
    """RFC 6266: an ASCII fallback and the UTF-8 name."""
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in name)
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def servable(attachment: dict[str, Any]) -> bool:
    """Whether an attachment has a file we keep (else it is metadata only: a Telegram
    file not downloaded, a Slack URL, a location)."""
    stored = attachment.get("stored")
    ref = str(attachment.get("ref") or "")
    return bool(stored) or (ref.startswith(EMAIL_RAW) and "#" in ref)


def public(attachment: dict[str, Any], index: int) -> dict[str, Any]:
    """What a client is told about an attachment (never where it is kept)."""
    return {"index": index, "kind": str(attachment.get("kind") or "file"),
            "name": str(attachment.get("name") or ""), "mime": str(attachment.get("mime") or ""),
            "size": int(attachment.get("stored_size") or attachment.get("size") or 0),
            "caption": str(attachment.get("caption") or ""), "available": servable(attachment)}


async def respond(request: web.Request, data_dir: Path, attachment: dict[str, Any], *,
                  inline: bool = False) -> web.StreamResponse:
    """The file of `attachment`; 404 when it is not (or no longer) kept."""
    stored = attachment.get("stored")
    if stored:
        path = inside(data_dir, str(stored))
        if path is None or not path.is_file():
            raise web.HTTPNotFound(reason="the file is no longer kept")
        head = await asyncio.to_thread(_head, path)
        headers = _headers(head, attachment, inline)
        return web.FileResponse(path, headers=headers)
    body = await asyncio.to_thread(email_part, data_dir, str(attachment.get("ref") or ""))
    if body is None:
        raise web.HTTPNotFound(reason="the file is no longer kept")
    return web.Response(body=body, headers=_headers(body[:HEAD], attachment, inline))


def _head(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(HEAD)


def _headers(head: bytes, attachment: dict[str, Any], inline: bool) -> dict[str, str]:
    found = sniff(head)
    taken = found.mime in ALLOWED
    mime = found.mime if taken else "application/octet-stream"
    if mime == "text/plain":
        mime = "text/plain; charset=utf-8"
    name = safe_name(str(attachment.get("name") or ""), found if taken else None)
    kind = "inline" if inline and found.mime in IMAGES else "attachment"
    return {**HEADERS, "Content-Type": mime, "Content-Disposition": disposition(kind, name)}


def email_part(data_dir: Path, ref: str) -> bytes | None:
    """The decoded bytes of one part of a raw mail the email channel kept, by the part
    path its parser gave the attachment (`1`, `2.1`, ...); None when it is not there."""
    if not ref.startswith(EMAIL_RAW) or "#" not in ref:
        return None
    digest, _, where = ref.removeprefix(EMAIL_RAW).partition("#")
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        return None
    path = data_dir / "email" / "raw" / digest[:2] / f"{digest}.eml"
    if not path.is_file():
        return None
    try:
        part: Message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        steps = [int(s) for s in where.strip(".").split(".") if s]
    except (ValueError, RecursionError):
        return None
    for i, step in enumerate(steps):
        children = part.get_payload() if part.is_multipart() else None
        if isinstance(children, list) and 0 < step <= min(len(children), MAX_EMAIL_PARTS):
            part = children[step - 1]
        elif not (i == len(steps) - 1 and step == 1 and not part.is_multipart()):
            return None  # "1" of a single-part mail is the mail itself
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else None
