"""kill -9 at any point loses nothing and duplicates nothing.

A real `serve` process (the production `serve()` coroutine, with a decision that answers
every message) takes messages over HTTP while replies go to a recording endpoint that
answers slowly, so that at the moment of the kill some messages are stored but their
replies not yet sent. After a restart on the same database, every accepted message is
stored exactly once and every reply is delivered exactly once per idempotency key.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from pathlib import Path

import aiohttp

from tests.conftest import write_config

SERVER = """
import asyncio, sys
from router.config import load_config
from router.commands.serve import serve
from router.logs import setup_logging
from router.service import Decider
from tests.conftest import echo_decide
config = load_config(sys.argv[1])
setup_logging("INFO", "json")
sys.exit(asyncio.run(serve(config, Decider(echo_decide), "127.0.0.1", 0)))
"""
TOTAL = 150
KILL_AFTER = 60


class Server:
    def __init__(self, config: Path, log: Path) -> None:
        self.config, self.log = config, log
        self.proc: asyncio.subprocess.Process | None = None
        self.port = 0

    async def start(self) -> None:
        root = Path(__file__).resolve().parents[2]
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", SERVER, str(self.config), cwd=root,
            stdout=asyncio.subprocess.PIPE, stderr=self.log.open("ab"),
            env={**os.environ, "PYTHONPATH": str(root)})
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), 30)
        assert line.startswith(b"listening on"), line
        self.port = int(line.rsplit(b":", 1)[1])

    async def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()
        self.port = 0

    async def terminate(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), 30)


async def test_kill_9_mid_stream_loses_and_duplicates_nothing(tmp_path: Path, recorder):
    config = write_config(tmp_path, f"""
channels:
  loopback: {{deliver_url: "{recorder.url}"}}
outbox:
  lease: 1s
  base_delay: 0.05s
  max_delay: 0.2s
  max_attempts: 50
""")
    recorder.delay = 0.05  # replies are slow: some are always in flight at the kill
    server = Server(config, tmp_path / "serve.log")
    await server.start()
    accepted: set[int] = set()
    enough = asyncio.Event()

    async def send(session: aiohttp.ClientSession, i: int) -> None:
        payload = {"id": f"m{i}", "thread": f"t{i % 25}", "from": f"u{i % 25}", "text": f"msg {i}"}
        while True:  # a platform retries until it gets a 200, like Telegram or Slack do
            port = server.port
            if port:
                try:
                    async with session.post(f"http://127.0.0.1:{port}/webhooks/loopback",
                                            json=payload) as resp:
                        if resp.status == 200:
                            accepted.add(i)
                            if len(accepted) >= KILL_AFTER:
                                enough.set()
                            return
                except aiohttp.ClientError:
                    pass
            await server_up.wait()

    server_up = asyncio.Event()
    server_up.set()
    async with aiohttp.ClientSession() as session:
        sem = asyncio.Semaphore(8)

        async def limited(i: int) -> None:
            async with sem:
                await send(session, i)

        senders = asyncio.gather(*(limited(i) for i in range(TOTAL)))
        await enough.wait()
        server_up.clear()
        await server.kill9()
        accepted_at_kill = len(accepted)
        delivered_at_kill = len(recorder.delivered)
        await server.start()
        server_up.set()
        await asyncio.wait_for(senders, 60)

    await recorder.wait_for(lambda r: len(r.delivered) >= TOTAL, timeout=60)
    assert await server.terminate() == 0

    # the kill really happened between "stored" and "sent" for some messages
    assert delivered_at_kill < accepted_at_kill
    db = sqlite3.connect(tmp_path / "data" / "router.db")
    inbound = db.execute("SELECT external_id FROM messages WHERE direction = 'in'").fetchall()
    assert sorted(e for (e,) in inbound) == sorted(f"m{i}" for i in range(TOTAL))
    keys = {k for (k,) in db.execute("SELECT idempotency_key FROM outbox WHERE status = 'sent'")}
    assert db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == TOTAL
    assert keys == set(recorder.delivered)
    texts = sorted(r.body["text"] for r in recorder.delivered.values())
    assert texts == sorted(f"echo: msg {i}" for i in range(TOTAL))
