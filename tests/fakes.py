"""Stand-ins at the platform seam: real HTTP servers on 127.0.0.1 that record requests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: Any
    at: float = field(default_factory=time.monotonic)


class LocalServer:
    """An aiohttp server on a free 127.0.0.1 port that tests can wait on.

    Subclasses add their routes in `add_routes` and call `await self.changed()` when
    something a test may wait for happened; `wait_for(predicate)` waits on that, never
    on the clock.
    """

    def __init__(self) -> None:
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    def add_routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        app = web.Application()
        self.add_routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def changed(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[Any], bool], timeout: float = 10.0) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: predicate(self)), timeout)


class Recorder(LocalServer):
    """An HTTP endpoint that records JSON POSTs and honours `Idempotency-Key`.

    `respond` may be set to a function returning (status, headers) per request, to play
    rate limits and outages. Deliveries with a key seen before are recorded in `repeats`
    and answered like the first, as an idempotent API would.
    """

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[Recorded] = []
        self.delivered: dict[str, Recorded] = {}
        self.repeats: list[Recorded] = []
        self.respond: Callable[[Recorded], tuple[int, dict[str, str]]] | None = None
        self.delay = 0.0  # seconds before answering: keeps deliveries in flight

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/deliver"

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/{tail:.*}", self._handle)

    async def _handle(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            body = await request.text()
        if self.delay:
            await asyncio.sleep(self.delay)
        rec = Recorded(request.path, dict(request.headers), body)
        self.requests.append(rec)
        status, headers = self.respond(rec) if self.respond else (200, {})
        if status < 300:
            key = request.headers.get("Idempotency-Key", f"req-{len(self.requests)}")
            if key in self.delivered:
                self.repeats.append(rec)
            else:
                self.delivered[key] = rec
        await self.changed()
        return web.json_response({"id": f"r{len(self.requests)}"}, status=status, headers=headers)

