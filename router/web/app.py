"""The aiohttp application: core routes, error middleware and channel webhooks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from router.domain.errors import BodyTimeout, PayloadRejected, ServiceStopping
from router.web.http_errors import json_error

log = logging.getLogger(__name__)

MAX_BODY = web.AppKey("max_body_bytes", int)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure becomes a JSON body; nothing a client sends can crash the service."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status == 413:
            log.warning("rejected %s %s: body too large", request.method, request.path)
            return json_error(413, "too_large", "request body too large")
        if exc.status >= 400 and exc.content_type != "application/json":
            resp = json_error(exc.status, exc.reason.lower().replace(" ", "_"), exc.reason)
            if "Allow" in exc.headers:  # 405: the methods the resource does answer
                resp.headers["Allow"] = exc.headers["Allow"]
            return resp
        raise
    except BodyTimeout as exc:
        log.warning("rejected %s %s: %s", request.method, request.path, exc)
        resp = json_error(408, "timeout", str(exc))
        resp.force_close()  # the rest of the body may still be on its way
        return resp
    except PayloadRejected as exc:
        log.warning("rejected %s %s: %s", request.method, request.path, exc.reason)
        return json_error(exc.status, "rejected", exc.reason)
    except ServiceStopping:
        return json_error(503, "stopping", "the service is shutting down; retry shortly")
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return json_error(500, "internal", "internal error; see the service log")


def body_deadline(timeout: float) -> Any:
    """A middleware: a body not fully received `timeout` seconds after its headers fails.

    The reader of the body (`request.read()`, `request.json()`, ...) raises BodyTimeout,
    answered 408 by `error_middleware`; a slow client cannot hold a handler forever.
    """

    @web.middleware
    async def deadline(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.body_exists or request.content.is_eof():
            return await handler(request)

        def expire() -> None:
            if not request.content.is_eof():
                request.content.set_exception(
                    BodyTimeout(f"request body not received within {timeout:g} s"))

        timer = asyncio.get_running_loop().call_later(timeout, expire)
        try:
            return await handler(request)
        finally:
            timer.cancel()

    return deadline


def create_app(*, max_body_bytes: int, state: dict[str, Any],
               body_timeout: float = 30.0) -> web.Application:
    app = web.Application(client_max_size=max_body_bytes,
                          middlewares=[error_middleware, body_deadline(body_timeout)])
    app[MAX_BODY] = max_body_bytes

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_: web.Request) -> web.Response:
        ready = bool(state.get("ready")) and not state.get("stopping")
        return web.json_response({"ready": ready}, status=200 if ready else 503)

    async def status(_: web.Request) -> web.Response:
        provider = state.get("status")
        return web.json_response(provider() if callable(provider) else {})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/status", status)
    return app
