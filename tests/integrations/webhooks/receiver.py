"""A webhook receiver on 127.0.0.1 that checks every request as docs/integrations.md says.

The signature is checked by the documentation's own snippet (taken from the page and
run), so the page and the sender cannot drift apart. A request that fails a check is
recorded in `bad` and answered 401; the tests assert that `bad` stays empty.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.fakes import LocalServer

DOC = Path(__file__).resolve().parents[3] / "docs" / "integrations.md"
SECRET = "test-webhook-secret-0123456789abcdef"


def documented_verify() -> Callable[..., bool]:
    """The `verify` function of docs/integrations.md's "Verifying a delivery" section."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("### Verifying a delivery", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None, "docs/integrations.md lost its verification snippet"
    scope: dict[str, Any] = {}
    exec(compile(code.group(1), str(DOC), "exec"), scope)
    return scope["verify"]  # type: ignore[no-any-return]


@dataclass
class Delivery:
    id: str
    event: str
    body: dict[str, Any]
    headers: dict[str, str]
    status: int = 200


@dataclass
class WebhookReceiver(LocalServer):
    secret: str = SECRET
    #: (status, headers) per delivery, to play outages and rate limits; default 200
    respond: Callable[[Delivery], tuple[int, dict[str, str]]] | None = None
    attempts: list[Delivery] = field(default_factory=list)  # every request that verified
    delivered: dict[str, Delivery] = field(default_factory=dict)  # first 2xx per id
    repeats: list[Delivery] = field(default_factory=list)  # 2xx again for a known id
    bad: list[str] = field(default_factory=list)
    delay: float = 0.0  # seconds between taking a delivery and answering (a slow endpoint)

    def __post_init__(self) -> None:
        super().__init__()
        self.verify = documented_verify()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/hook", self._handle)

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        """Delivered bodies (once per id) in arrival order, of one event or all."""
        return [d.body for d in self.delivered.values() if name is None or d.event == name]

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        problem = self._check(request, raw)
        if problem:
            self.bad.append(problem)
            await self.changed()
            return web.json_response({"error": problem}, status=401)
        body = json.loads(raw)
        got = Delivery(body["id"], body["event"], body, dict(request.headers))
        self.attempts.append(got)
        got.status, headers = self.respond(got) if self.respond else (200, {})
        if got.status < 300:
            if got.id in self.delivered:
                self.repeats.append(got)
            else:
                self.delivered[got.id] = got
        await self.changed()
        if self.delay:  # taken (and recorded) already: a sender killed now resends it
            await asyncio.sleep(self.delay)
        return web.json_response({}, status=got.status, headers=headers)

    def _check(self, request: web.Request, raw: bytes) -> str:
        if not self.verify(self.secret, request.headers, raw):
            return "bad signature"
        try:
            body = json.loads(raw)
        except ValueError:
            return "not JSON"
        if request.headers.get("Idempotency-Key") != body.get("id"):
            return "Idempotency-Key is not the body's id"
        if request.headers.get("X-Router-Event") != body.get("event"):
            return "X-Router-Event is not the body's event"
        if request.content_type != "application/json":
            return f"content type {request.content_type}"
        return ""
