"""Consistent JSON error bodies and safe request-body reading for every HTTP route."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from router.domain.errors import PayloadRejected
from router.web import jsonbody


def json_error(status: int, code: str, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message, **extra}}, status=status)


async def read_json(request: web.Request) -> Any:
    """The request's JSON body; PayloadRejected (400/413/415) with a clear reason otherwise."""
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise PayloadRejected(f"body larger than the {request._client_max_size}-byte limit",
                              413) from None
    if not raw:
        raise PayloadRejected("empty body")
    return jsonbody.loads(raw)  # bounded: depth, 64-bit integers, valid Unicode
