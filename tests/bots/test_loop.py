"""Two copies of the bot wired to each other through a loopback relay stop at once.

Each service's loopback channel delivers its replies to a relay, which turns the outbound
JSON into an inbound message for the other service, as a customer's message would be.
Neither side knows the other is a bot (no `is_bot`, no auto-reply headers); what stops
them is the loop guard recognising its own texts, backed by the reply guards.
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import web

from router.config import load_config
from router.domain.model import OutboxStatus
from router.wiring import build_decide
from tests.bots.helpers import FAQ_FILE
from tests.conftest import write_config


class Relay:
    """POST /to/<name> with an outbound loopback body -> inbound body for service <name>."""

    def __init__(self) -> None:
        self.targets: dict[str, str] = {}
        self.forwarded: list[tuple[str, str]] = []
        self.outbox_ids: set[tuple[str, int]] = set()  # (target, sender's outbox id)
        self.in_flight = 0
        self.changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/to/{name}", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/to/{name}"

    async def handle(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        out = await request.json()
        self.in_flight += 1
        try:
            body = {"id": f"relay-{out['outbox_id']}", "thread": f"from-{out['thread']}",
                    "from": f"peer-of-{name}", "text": out["text"]}
            async with aiohttp.ClientSession() as http, http.post(self.targets[name], json=body) as r:
                assert r.status == 200
            self.forwarded.append((name, out["text"]))
            self.outbox_ids.add((name, int(out["outbox_id"])))
        finally:
            self.in_flight -= 1
            async with self.changed:
                self.changed.notify_all()
        return web.json_response({"id": body["id"]})

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()


async def pending(service, relay: Relay, target: str) -> int:
    """Replies not yet delivered; one the relay already forwarded counts as delivered (the
    sender marks it sent only after the relay has answered, i.e. after we were told)."""
    rows = await service.store.read(lambda tx: tx.outbox_list([OutboxStatus.PENDING]))
    return sum((target, r.id) not in relay.outbox_ids for r in rows)


async def settle(relay: Relay, services: dict, timeout: float = 15.0) -> None:
    """Wait, on relay notifications, until nothing is in flight and no reply is pending.

    The check runs under the condition's lock, so a delivery finishing between the check
    and the wait cannot be missed.
    """
    async def quiet() -> bool:
        counts = [await pending(s, relay, target) for target, s in services.items()]
        return relay.in_flight == 0 and not any(counts)

    async def loop() -> None:
        async with relay.changed:
            while not await quiet():
                await relay.changed.wait()

    await asyncio.wait_for(loop(), timeout)


@pytest.mark.parametrize("opening", [
    "Hej! Är frakten gratis?",  # A answers from the FAQ; B sees its own FAQ answer
    "qwerty asdf zxcv",  # A does not understand; B sees its own "did not understand"
    "Haluan puhua ihmisen kanssa",  # A hands off; B sees its own hand-off text
])
async def test_two_bots_stop_after_at_most_one_exchange(start_service, tmp_path, opening):
    relay = Relay()
    await relay.start()
    try:
        services = {}
        for name, peer in (("a", "b"), ("b", "a")):
            directory = tmp_path / name
            directory.mkdir()
            (directory / "faq.yaml").write_text(FAQ_FILE.read_text(encoding="utf-8"), encoding="utf-8")
            path = write_config(directory, f"""
                channels: {{loopback: {{deliver_url: "{relay.url(peer)}"}}}}
                include: [faq.yaml]
            """)
            config = load_config(path)
            services[name] = await start_service(config, build_decide(config))
            relay.targets[name] = f"http://127.0.0.1:{services[name].port}/webhooks/loopback"
        async with aiohttp.ClientSession() as http, http.post(
                relay.targets["a"], json={"id": "h1", "thread": "t1", "from": "customer",
                                          "text": opening}) as resp:
            assert resp.status == 200
        async with relay.changed:
            await asyncio.wait_for(relay.changed.wait_for(lambda: relay.forwarded), 10)
        await settle(relay, {"b": services["a"], "a": services["b"]})
        to_b = [t for n, t in relay.forwarded if n == "b"]
        to_a = [t for n, t in relay.forwarded if n == "a"]
        assert len(to_b) >= 1 and len(to_a) <= 1, relay.forwarded
        assert len(relay.forwarded) <= 2 + (len(to_b) - 1)  # A's burst, then at most one answer
    finally:
        await relay.stop()
