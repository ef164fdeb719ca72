"""A fresh install, driven as an admin and a customer would: what `make run` starts.

The shipped `config.yaml` and `config.d/` are copied into an empty directory with an empty
`data/` (`make run` does `mkdir -p data`), and the real `inquiry-router serve` runs in a
child process with none of the `*_SECRET` variables set. The admin's API token comes from
`inquiry-router agents token`; the customer talks over the web chat's own protocol
(channels/webchat/protocol.py) or in Chromium; agents act over `/api/v1`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

import aiohttp

from tests.conftest import ROOT

SECRET_VARS = ("CSAT_SECRET", "WEBCHAT_SECRET", "CONSOLE_SECRET")
START_TIMEOUT = 60


class FreshInstall:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.config = directory / "config.yaml"
        self.data = directory / "data"
        self.log = directory / "serve.log"
        self.proc: asyncio.subprocess.Process | None = None
        self.port = 0
        shutil.copy(ROOT / "config.yaml", self.config)
        shutil.copytree(ROOT / "config.d", directory / "config.d")
        self.data.mkdir()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in SECRET_VARS}
        return {**env, "PYTHONPATH": str(ROOT)}

    async def start(self) -> None:
        """`inquiry-router serve` on a free port; returns once it listens."""
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "router", "serve", "--config", str(self.config), "--port", "0",
            cwd=self.dir, env=self._env(), stdout=asyncio.subprocess.PIPE,
            stderr=self.log.open("ab"))
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), START_TIMEOUT)
        assert line.startswith(b"listening on"), self.log.read_text(encoding="utf-8")[-2000:]
        self.port = int(line.rsplit(b":", 1)[1])

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(self.proc.wait(), 30) == 0
        self.proc = None

    async def cli(self, *args: str) -> str:
        """`inquiry-router <args>` against this install; its standard output."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "router", *args, cwd=self.dir, env=self._env(),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), START_TIMEOUT)
        assert proc.returncode == 0, err.decode()
        return out.decode()

    async def token(self, agent: str) -> str:
        out = await self.cli("agents", "--config", str(self.config), "token", agent)
        return out.splitlines()[0].strip()


class AgentApi:
    """An agent over `/api/v1` with a bearer token."""

    def __init__(self, http: aiohttp.ClientSession, install: FreshInstall, token: str) -> None:
        self.http, self.install, self.token = http, install, token

    async def call(self, method: str, path: str) -> Any:
        async with self.http.request(method, f"{self.install.base}/api/v1{path}",
                                     headers={"Authorization": f"Bearer {self.token}"}) as resp:
            body = await resp.json()
            assert resp.status == 200, body
            return body

    async def webchat_conversation(self) -> int:
        page = await self.call("GET", "/conversations")
        [only] = [c["id"] for c in page["items"] if c["channel"] == "webchat"]
        return int(only)

    async def resolve(self, conversation_id: int) -> dict[str, Any]:
        return await self.call("POST", f"/conversations/{conversation_id}/resolve")  # type: ignore[no-any-return]

    async def reopen(self, conversation_id: int) -> dict[str, Any]:
        return await self.call("POST", f"/conversations/{conversation_id}/reopen")  # type: ignore[no-any-return]

    async def detail(self, conversation_id: int) -> dict[str, Any]:
        return await self.call("GET", f"/conversations/{conversation_id}")  # type: ignore[no-any-return]


class Visitor:
    """A web chat customer speaking the widget's WebSocket protocol."""

    def __init__(self, http: aiohttp.ClientSession, install: FreshInstall, lang: str) -> None:
        self.http, self.install, self.lang = http, install, lang
        self.token = ""
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.n = 0

    async def connect(self) -> dict[str, Any]:
        """A session (the first time) and a socket; the `welcome` frame with the history."""
        if not self.token:
            async with self.http.post(f"{self.install.base}/chat/session") as resp:
                assert resp.status == 200, await resp.text()
                self.token = (await resp.json())["token"]
        self.ws = await self.http.ws_connect(f"{self.install.base}/chat/ws")
        await self.ws.send_json({"type": "hello", "token": self.token, "after": 0,
                                 "lang": self.lang})
        return await self.until("welcome")

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
            self.ws = None

    async def until(self, kind: str, **match: Any) -> dict[str, Any]:
        """The next frame of `kind` whose fields equal `match` (a callable field: true)."""
        assert self.ws is not None
        async with asyncio.timeout(20):
            while True:
                frame = await self.ws.receive_json()
                if frame["type"] == kind and all(
                        v(frame.get(k)) if callable(v) else frame.get(k) == v
                        for k, v in match.items()):
                    return frame  # type: ignore[no-any-return]

    async def say(self, text: str) -> dict[str, Any]:
        assert self.ws is not None
        self.n += 1
        cid = f"fresh-{self.n:04d}"
        await self.ws.send_json({"type": "message", "id": cid, "text": text, "lang": self.lang})
        return await self.until("ack", id=cid)

    async def press(self, label: str, payload: str) -> dict[str, Any]:
        assert self.ws is not None
        self.n += 1
        cid = f"fresh-{self.n:04d}"
        await self.ws.send_json({"type": "quick_reply", "id": cid, "payload": payload,
                                 "label": label, "lang": self.lang})
        return await self.until("ack", id=cid)
