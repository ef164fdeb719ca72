"""kill -9 of `serve` mid-stream: every webhook event is received, once per idempotency key.

A real `serve` process (the production `serve()`, a decision that answers every message)
takes messages over HTTP while its webhook deliveries go to a receiver that answers
slowly, so that at the kill some events are stored but not delivered, and some delivered
but not yet marked sent. After a restart on the same database every event has arrived,
none under two ids (each event's outbox row was written with it, in one commit), and a
delivery repeated after the crash carries the id it had: the receiver, which keeps ids,
sees each event once.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from pathlib import Path

import aiohttp

from tests.conftest import write_config
from tests.integrations.webhooks.conftest import SECRET_ENV
from tests.integrations.webhooks.receiver import SECRET, WebhookReceiver
from tests.router.test_crash import Server

TOTAL = 40
SENDERS = 8
KILL_AFTER = 15


async def test_kill_9_mid_stream_delivers_every_event_once_per_key(tmp_path: Path, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, SECRET)  # inherited by the serve processes
    receiver = WebhookReceiver(delay=0.03)  # answers late: deliveries are in flight at the kill
    await receiver.start()
    config = write_config(tmp_path, f"""
channels:
  loopback: {{}}
webhooks:
  hook:
    url: "{receiver.url}"
    secret: "${{{SECRET_ENV}}}"
    events: ["*"]
outbox:
  lease: 1s
  base_delay: 0.05s
  max_delay: 0.2s
  max_attempts: 50
""")
    server = Server(config, tmp_path / "serve.log")
    try:
        await _run(server, receiver)
    finally:
        await receiver.stop()
    assert receiver.bad == []


async def _run(server: Server, receiver: WebhookReceiver) -> None:
    await server.start()
    accepted: set[int] = set()
    enough, up = asyncio.Event(), asyncio.Event()
    up.set()

    async def send(http: aiohttp.ClientSession, i: int) -> None:
        body = {"id": f"m{i}", "thread": f"t{i % SENDERS}", "from": f"u{i % SENDERS}",
                "text": f"msg {i}"}
        while True:  # a platform retries until it gets a 200
            if server.port:
                try:
                    async with http.post(f"http://127.0.0.1:{server.port}/webhooks/loopback",
                                         json=body) as resp:
                        if resp.status == 200:
                            accepted.add(i)
                            if len(accepted) >= KILL_AFTER:
                                enough.set()
                            return
                except aiohttp.ClientError:
                    pass
            await up.wait()

    async with aiohttp.ClientSession() as http:
        sem = asyncio.Semaphore(4)

        async def limited(i: int) -> None:
            async with sem:
                await send(http, i)

        senders = asyncio.gather(*(limited(i) for i in range(TOTAL)))
        await enough.wait()
        up.clear()
        await server.kill9()
        delivered_at_kill = len(receiver.delivered)
        await server.start()
        up.set()
        await asyncio.wait_for(senders, 60)

    expected = 2 * TOTAL + 2 * SENDERS  # in and out per message; contact and conversation
    await receiver.wait_for(lambda r: len(r.delivered) >= expected, timeout=60)
    assert await server.terminate() == 0
    assert delivered_at_kill < expected  # the kill came mid-stream

    got = receiver.events()
    assert len(got) == expected
    kinds = Counter(b["event"] for b in got)
    assert kinds == {"message.inbound": TOTAL, "message.outbound": TOTAL,
                     "contact.created": SENDERS, "conversation.opened": SENDERS}
    # no event twice under two ids: each message's text once each way
    inbound = sorted(b["data"]["message"]["text"] for b in got if b["event"] == "message.inbound")
    assert inbound == sorted(f"msg {i}" for i in range(TOTAL))
    outbound = Counter(b["data"]["message"]["text"] for b in got if b["event"] == "message.outbound")
    assert outbound == Counter(f"echo: msg {i}" for i in range(TOTAL))
    # every repeat was of an id already delivered, and the store agrees on what went out
    assert {d.id for d in receiver.repeats} <= set(receiver.delivered)
    db = sqlite3.connect(Path(server.config).parent / "data" / "router.db")
    rows = db.execute("SELECT idempotency_key, status FROM outbox WHERE channel = 'webhook'")
    assert dict(rows.fetchall()) == dict.fromkeys(receiver.delivered, "sent")
    per_contact: dict[int, list[str]] = {}
    for b in got:
        per_contact.setdefault(b["data"]["contact"]["id"], []).append(b["event"])
    for seq in per_contact.values():  # in order per contact, across the crash too
        assert seq[:2] == ["contact.created", "conversation.opened"]
