"""A running service with agents and tokens, and a small client for /api/v1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest_asyncio

from router.domain.model import InboundMessage, Sender
from router.engine.agents import auth
from router.service import Service

AGENTS = """\
queues:
  general: {sla: {first_response: 30m, resolution: 1d, business_hours: false}}
  billing: {description: Invoices and refunds}
agents:
  boss: {name: Bo Boss, role: admin, languages: [sv, en], capacity: 10}
  ann: {name: Ann Agent, languages: [sv], capacity: 5}
  bob: {name: Bob Agent, capacity: 5}
channels:
  loopback: {}
"""


class Api:
    def __init__(self, service: Service, http: aiohttp.ClientSession, tokens: dict[str, str]) -> None:
        self.service, self.http, self.tokens = service, http, tokens
        self.base = f"http://127.0.0.1:{service.port}/api/v1"
        self.n = 0

    async def call(self, method: str, path: str, who: str | None = "boss", *,
                   json: Any = None, token: str | None = None) -> tuple[int, Any]:
        headers = {}
        if token is not None or who is not None:
            headers["Authorization"] = f"Bearer {token if token is not None else self.tokens[who]}"
        async with self.http.request(method, self.base + path, json=json, headers=headers) as r:
            return r.status, await r.json()

    async def token(self, name: str) -> str:
        desk = self.service.agents.desk  # type: ignore[union-attr]
        tok = await desk.store.write(lambda tx: auth.issue_token(tx, name, desk.clock()))
        self.tokens[name] = tok
        return tok

    async def customer(self, text: str = "hello", *, thread: str | None = None,
                       sender: str = "u1") -> int:
        self.n += 1
        r = await self.service.intake(InboundMessage(
            channel="loopback", external_id=f"api-{self.n}", thread_key=thread or f"t{self.n}",
            sender=Sender(external_id=sender, display_name="Ulla"), text=text,
            received_at=datetime.now(UTC)))
        assert r.conversation_id is not None
        return r.conversation_id


@pytest_asyncio.fixture
async def api_factory(make_config, start_service) -> AsyncIterator[Callable[..., Any]]:
    sessions: list[aiohttp.ClientSession] = []

    async def make(extra: str = "", *, configured_rules: bool = False) -> Api:
        """`configured_rules`: decide with the config's rules and bots, as `serve` does."""
        config = make_config(AGENTS + extra)
        if configured_rules:
            from router.wiring import build_decide

            service = await start_service(config, build_decide(config))
        else:
            service = await start_service(config)
        http = aiohttp.ClientSession()
        sessions.append(http)
        api = Api(service, http, {})
        for name in ("boss", "ann", "bob"):
            await api.token(name)
        return api

    yield make
    for http in sessions:
        await http.close()


@pytest_asyncio.fixture
async def api(api_factory) -> Api:
    return await api_factory()
