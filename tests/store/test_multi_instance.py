"""Several `serve` processes on one PostgreSQL database share the work correctly.

- 1,000 inbound messages spread over three instances, a fifth of them also redelivered
  to another instance at the same time: each stored once, answered once, one
  conversation per thread;
- 50 conversations claimed at once by three agents through three instances: one winner
  each;
- an agent streaming from instance A sees messages that arrive at instance B, promptly
  (LISTEN/NOTIFY, not the stream's one-second poll);
- an instance killed with kill -9 while holding outbox leases: another delivers those
  replies once their leases expire, never while they hold, and nothing twice.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from router.domain.model import Contact, Conversation, Status
from router.engine.agents.auth import issue_token
from router.store import Tx, utcnow
from router.store.postgres import PostgresStore
from tests.store.instances import Instance, Sink

# several instances (or stores) on PostgreSQL, 11 connections each: under pytest-xdist
# these modules share one worker, so two of them never hold connections at once
pytestmark = pytest.mark.xdist_group("postgres-instances")

MESSAGES = 1000
THREADS = 100
AGENTS = ("a0", "a1", "a2")


def config(pg_url: str, deliver: str, *, lease: str = "5s", concurrency: int = 16) -> str:
    agents = ", ".join(f"{a}: {{name: {a}, capacity: 100}}" for a in AGENTS)
    return f"""
storage: {{url: "{pg_url}"}}
channels:
  loopback: {{deliver_url: "{deliver}"}}
outbox: {{lease: {lease}, base_delay: 0.05s, max_delay: 0.5s, max_attempts: 50, concurrency: {concurrency}}}
agents: {{{agents}}}
"""


def payload(i: int, threads: int = THREADS) -> dict[str, str]:
    return {"id": f"m{i}", "thread": f"t{i % threads}", "from": f"u{i % threads}",
            "text": f"msg {i}"}


async def post(http: aiohttp.ClientSession, instance: Instance, body: dict[str, str]) -> dict:
    async with http.post(f"{instance.base}/webhooks/loopback", json=body) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def tokens_and_queue(pg_url: str, n: int) -> tuple[dict[str, str], list[int]]:
    """API tokens for the agents and `n` waiting conversations, written straight to the store."""
    store = PostgresStore(pg_url)
    await store.open()
    now = utcnow()

    async def unit(tx: Tx) -> tuple[dict[str, str], list[int]]:
        tokens = {a: await issue_token(tx, a, now) for a in AGENTS}
        for a in AGENTS:  # offline agents' conversations would be requeued by the scheduler
            await tx.set_agent_online(a, True, now)
        contact = await tx.create_contact(Contact(0, "waiting"), now)
        ids = [await tx.create_conversation(Conversation(
            0, contact, "loopback", f"q{i}", status=Status.QUEUED, queue="general",
            created_at=now, updated_at=now, queued_at=now)) for i in range(n)]
        return tokens, ids

    try:
        return await store.write(unit)
    finally:
        await store.close()


async def test_three_instances_share_the_work(tmp_path: Path, pg_url: str):
    sink = Sink()
    await sink.start()
    instances = [Instance(tmp_path / f"i{n}", config(pg_url, sink.url("ok"))) for n in range(3)]
    try:
        await asyncio.gather(*(i.start() for i in instances))
        async with aiohttp.ClientSession() as http:
            await _inbound_once(http, instances, sink, pg_url)
            await _claims_one_winner(http, instances, pg_url)
            await _stream_sees_other_instance(http, instances)
    finally:
        await asyncio.gather(*(i.stop() for i in instances))
        await sink.stop()


async def _inbound_once(http: aiohttp.ClientSession, instances: list[Instance], sink: Sink,
                        pg_url: str) -> None:
    sem = asyncio.Semaphore(48)

    async def send(i: int, target: int) -> dict:
        async with sem:
            return await post(http, instances[target % 3], payload(i))

    jobs = [send(i, i) for i in range(MESSAGES)]
    jobs += [send(i, i + 1) for i in range(0, MESSAGES, 5)]  # redeliveries, elsewhere, at once
    results = await asyncio.gather(*jobs)
    assert sum(not r["duplicate"] for r in results) == MESSAGES
    await sink.wait_for(lambda s: len(s.answered) >= MESSAGES, timeout=60)

    db = await asyncpg.connect(pg_url)
    try:
        await _all_marked_sent(db, MESSAGES)
        inbound = await db.fetch("SELECT external_id FROM messages WHERE direction = 'in'")
        assert sorted(r[0] for r in inbound) == sorted(f"m{i}" for i in range(MESSAGES))
        assert await db.fetchval("SELECT COUNT(*) FROM inbox") == MESSAGES
        assert await db.fetchval("SELECT COUNT(*) FROM conversations") == THREADS
        assert await db.fetchval("SELECT COUNT(*) FROM identities") == THREADS
        assert await db.fetchval("SELECT SUM(message_count) FROM conversations") == MESSAGES
        sent = await db.fetch("SELECT status, COUNT(*) FROM outbox GROUP BY status")
        assert dict(sent) == {"sent": MESSAGES}
    finally:
        await db.close()
    assert all(n == 1 for n in sink.answered.values())
    assert all(len(a) == 1 for a in sink.arrivals.values())  # nobody sent a reply twice


async def _all_marked_sent(db: asyncpg.Connection, count: int, timeout: float = 30.0) -> None:
    """The sink sees a reply a moment before its instance marks the outbox row sent (the
    mark follows the platform's answer), and that commit sends no NOTIFY to wait on: read
    until every row is marked, within `timeout`."""
    deadline = time.monotonic() + timeout
    query = "SELECT COUNT(*) FROM outbox WHERE status = 'sent'"
    while await db.fetchval(query) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.05)  # the state is in another process's commits


async def _claims_one_winner(http: aiohttp.ClientSession, instances: list[Instance],
                             pg_url: str) -> None:
    tokens, ids = await tokens_and_queue(pg_url, 50)

    async def claim(cid: int, n: int) -> tuple[int, str]:
        agent = AGENTS[n]
        async with http.post(f"{instances[n].base}/api/v1/conversations/{cid}/claim",
                             headers={"Authorization": f"Bearer {tokens[agent]}"}) as resp:
            return resp.status, agent

    outcomes = await asyncio.gather(*(claim(cid, n) for cid in ids for n in range(3)))
    db = await asyncpg.connect(pg_url)
    try:
        for k, cid in enumerate(ids):
            mine = outcomes[3 * k:3 * k + 3]
            assert sorted(s for s, _ in mine) == [200, 409, 409], (cid, mine)
            winner = next(a for s, a in mine if s == 200)
            assert await db.fetchval("SELECT assignee FROM conversations WHERE id = $1", cid) == winner
            assigned = await db.fetchval("SELECT COUNT(*) FROM events WHERE conversation_id = $1 "
                                         "AND kind = 'assigned'", cid)
            assert assigned == 1
    finally:
        await db.close()


async def _stream_sees_other_instance(http: aiohttp.ClientSession, instances: list[Instance]) -> None:
    token = await _token_via_cli_store(instances)
    latencies = []
    async with http.ws_connect(f"{instances[0].base}/api/v1/stream",
                               headers={"Authorization": f"Bearer {token}"}) as ws:
        hello = await ws.receive_json(timeout=10)
        assert hello["type"] == "hello"
        for i in range(10):
            started = time.monotonic()
            await post(http, instances[1], payload(MESSAGES + i, threads=7))
            while True:  # B acknowledged once stored; its processing commit reaches A's stream
                event = await ws.receive_json(timeout=10)
                if event.get("kind") == "message_received":
                    break
            latencies.append(time.monotonic() - started)
    # Without LISTEN/NOTIFY the stream would only see B's commits on its 1 s poll (~0.5 s
    # on average); woken by NOTIFY it sees them within milliseconds.
    assert statistics.mean(latencies) < 0.25, latencies


async def _token_via_cli_store(instances: list[Instance]) -> str:
    from router.config import load_config

    url = load_config(instances[0].config).settings.storage.url
    store = PostgresStore(url)
    await store.open()
    try:
        return await store.write(lambda tx: issue_token(tx, "a0", utcnow(), "stream"))
    finally:
        await store.close()


async def test_kill_9_with_leases_hands_over_after_expiry(tmp_path: Path, pg_url: str):
    """A sends into a sink that never answers (its sends hang, leases held); B delivers."""
    sink = Sink()
    await sink.start()
    a = Instance(tmp_path / "a", config(pg_url, sink.url("hold/a"), lease="2s", concurrency=4))
    b = Instance(tmp_path / "b", config(pg_url, sink.url("ok/b"), lease="2s"))
    try:
        await a.start()
        async with aiohttp.ClientSession() as http:
            for i in range(12):
                await post(http, a, payload(i, threads=12))
        await sink.wait_for(lambda s: sum(len(v) for v in s.arrivals.values()) >= 4)
        held = {k: v[0][1] for k, v in sink.arrivals.items()}  # key -> when A sent it
        assert len(held) == 4  # A's four send slots hang on four leased rows
        await b.start()
        await sink.wait_for(lambda s: len(s.answered) >= 8)  # the unleased ones
        # The held leases are respected: checked below by time (B sends a held row only
        # once A's lease has run out), not by "not yet answered" here, which fails on a
        # loaded host where B takes longer than the lease to start.
        await a.kill9()
        await sink.wait_for(lambda s: len(s.answered) >= 12, timeout=30)
    finally:
        await a.stop()
        await b.stop()
        await sink.stop()
    for key, sent_by_a in held.items():
        (first_path, _), (path, t_b) = sink.arrivals[key]
        assert first_path == "/hold/a" and path == "/ok/b"
        assert t_b - sent_by_a >= 1.9  # only after A's lease expired
    assert all(n == 1 for n in sink.answered.values()) and len(sink.answered) == 12
    db = await asyncpg.connect(pg_url)
    try:
        assert await db.fetchval("SELECT COUNT(*) FROM outbox WHERE status = 'sent'") == 12
    finally:
        await db.close()
