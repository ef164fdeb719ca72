"""`serve` subprocesses on one PostgreSQL schema, and a delivery sink, for the multi-instance tests.

Each instance is the production `serve()` coroutine in its own process (the echo
decision answers every customer message), so instances share nothing but the database.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections import defaultdict
from pathlib import Path

from aiohttp import web

from tests.conftest import write_config

ROOT = Path(__file__).resolve().parents[2]
SERVER = """
import asyncio, sys
from router.config import load_config
from router.commands.serve import serve
from router.logs import setup_logging
from router.service import Decider
from tests.conftest import echo_decide
config = load_config(sys.argv[1])
setup_logging("WARNING", "json")
sys.exit(asyncio.run(serve(config, Decider(echo_decide), "127.0.0.1", 0)))
"""


class Instance:
    def __init__(self, directory: Path, extra: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.config = write_config(directory, extra)
        self.log = directory / "serve.log"
        self.proc: asyncio.subprocess.Process | None = None
        self.port = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> Instance:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", SERVER, str(self.config), cwd=ROOT,
            stdout=asyncio.subprocess.PIPE, stderr=self.log.open("ab"),
            env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), 30)
        assert line.startswith(b"listening on"), (line, self.log.read_text()[-2000:])
        self.port = int(line.rsplit(b":", 1)[1])
        return self

    async def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 20)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


class Sink:
    """Records deliveries per path and idempotency key; paths under /hold/ never answer
    (a send in flight forever, as when its instance dies mid-send)."""

    def __init__(self) -> None:
        self.arrivals: dict[str, list[tuple[str, float]]] = defaultdict(list)  # key -> (path, t)
        self.answered: dict[str, int] = defaultdict(int)  # key -> 200s sent
        self._changed = asyncio.Condition()
        self._never = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        self._never.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        key = request.headers["Idempotency-Key"]
        await request.read()
        self.arrivals[key].append((request.path, time.monotonic()))
        async with self._changed:
            self._changed.notify_all()
        if request.path.startswith("/hold/"):
            await self._never.wait()
            return web.json_response({}, status=503)
        self.answered[key] += 1
        async with self._changed:
            self._changed.notify_all()
        return web.json_response({"id": key})

    async def wait_for(self, predicate, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: predicate(self)), timeout)
