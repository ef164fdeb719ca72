"""A stand-in Slack Web API on 127.0.0.1 that the real slack-sdk client talks to.

`POST /api/<method>` (GET for users.info) with a Bearer token, JSON or form bodies, recorded per method.
Answers auth.test, chat.postMessage, chat.update, chat.postEphemeral and users.info like
Slack (users come from `self.users`); any call can be made to fail with an error code or
with HTTP 429 + Retry-After.

Socket Mode: `apps.connections.open` (app token) returns `ws://.../socket`; that WebSocket
says `hello`, `push_envelope` sends an `events_api` envelope, and the client's
`{"envelope_id": ...}` acks are recorded in `acks`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes import LocalServer

TEAM = "T0001"
BOT_USER = "UBOT0001"
BOT_ID = "BBOT0001"
TOKEN = "xoxb-test-token"
SECRET = "test-signing-secret-0123"
APP_TOKEN = "xapp-1-A0APP0001-test"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    token: str = ""
    status: int = 200
    ok: bool = True
    result: dict[str, Any] = field(default_factory=dict)  # what the stand-in answered
    at: float = field(default_factory=time.monotonic)


@dataclass
class Failure:
    error: str  # Slack error code, e.g. channel_not_found or ratelimited
    status: int = 200
    retry_after: int | None = None
    times: int = 1


def user(uid: str, name: str, email: str, *, locale: str = "en-US", team: str = TEAM,
         is_bot: bool = False) -> dict[str, Any]:
    """A users.info `user` object as Slack returns it."""
    return {"id": uid, "team_id": team, "name": name.lower().replace(" ", "."),
            "real_name": name, "is_bot": is_bot, "locale": locale, "deleted": False,
            "profile": {"real_name": name, "display_name": name, "email": email}}


class FakeSlackAPI(LocalServer):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[Call] = []
        self.users: dict[str, dict[str, Any]] = {}
        self.users_info_delay = 0.0  # seconds: play a slow users.info
        self.users_info_gate: asyncio.Event | None = None  # users.info waits until it is set
        self.users_info_asked = asyncio.Event()  # a users.info request reached the gate
        self._failures: dict[str, list[Failure]] = {}
        self._ts = itertools.count(1)
        self.sockets: list[web.WebSocketResponse] = []  # open Socket Mode connections
        self.acks: list[dict[str, Any]] = []  # what the client sent back, in order
        self._envelopes = itertools.count(1)
        self.uploads: dict[str, bytes] = {}  # file id -> the bytes posted to its upload URL
        self._files = itertools.count(1)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/api/{method}", self._handle)
        app.router.add_get("/api/{method}", self._handle)  # users.info is a GET
        app.router.add_get("/socket", self._socket)
        app.router.add_post("/upload/{file_id}", self._upload)  # files_upload_v2's step 2

    async def stop(self) -> None:
        for ws in list(self.sockets):
            await ws.close()
        await super().stop()

    # --- scripting and asserting ----------------------------------------------------
    def fail(self, method: str, error: str, *, status: int = 200, retry_after: int | None = None,
             times: int = 1) -> None:
        self._failures.setdefault(method, []).append(Failure(error, status, retry_after, times))

    def rate_limit(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        self.fail(method, "ratelimited", status=429, retry_after=retry_after, times=times)

    def called(self, method: str) -> list[Call]:
        """Successful calls of `method`, in order."""
        return [c for c in self.calls if c.method == method and c.ok]

    def attempts(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def posted(self, channel: str = "") -> list[dict[str, Any]]:
        return [c.params for c in self.called("chat.postMessage")
                if not channel or c.params.get("channel") == channel]

    async def push_envelope(self, body: dict[str, Any], *, retry_attempt: int = 0,
                            kind: str = "events_api") -> str:
        """Send `body` over the open Socket Mode connection; returns its envelope_id."""
        envelope_id = f"env-{next(self._envelopes):04d}"
        await self.sockets[-1].send_json({
            "envelope_id": envelope_id, "type": kind, "payload": body,
            "accepts_response_payload": False, "retry_attempt": retry_attempt,
            "retry_reason": "timeout" if retry_attempt else ""})
        return envelope_id

    def acked(self, envelope_id: str) -> bool:
        return any(a.get("envelope_id") == envelope_id for a in self.acks)

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()  # answers the client's pings itself
        await ws.prepare(request)
        await ws.send_json({"type": "hello", "num_connections": 1,
                            "debug_info": {"host": "fake", "approximate_connection_time": 3600},
                            "connection_info": {"app_id": "A0APP0001"}})
        async with self._changed:
            self.sockets.append(ws)
            self._changed.notify_all()
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    async with self._changed:
                        self.acks.append(json.loads(msg.data))
                        self._changed.notify_all()
        finally:
            async with self._changed:
                self.sockets.remove(ws)
                self._changed.notify_all()
        return ws

    # --- serving --------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        call = Call(method, await _params(request),
                    request.headers.get("Authorization", "").removeprefix("Bearer "))
        if method == "users.info" and self.users_info_delay:
            await asyncio.sleep(self.users_info_delay)
        if method == "users.info" and self.users_info_gate is not None:
            self.users_info_asked.set()
            await self.users_info_gate.wait()
        failure = self._next_failure(method)
        if failure is not None:
            call.status, call.ok = failure.status, False
            await self._record(call)
            headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after else {}
            return web.json_response({"ok": False, "error": failure.error},
                                     status=failure.status, headers=headers)
        if method == "apps.connections.open":  # Socket Mode: the app-level token
            call.ok = call.token == APP_TOKEN
            await self._record(call)
            if not call.ok:
                return web.json_response({"ok": False, "error": "invalid_auth"})
            return web.json_response({"ok": True,
                                      "url": f"ws://127.0.0.1:{self.port}/socket?ticket=t1"})
        if call.token != TOKEN:
            call.ok = False
            await self._record(call)
            return web.json_response({"ok": False, "error": "invalid_auth"})
        body = self._answer(method, call.params)
        call.ok, call.result = bool(body.get("ok")), body
        await self._record(call)
        return web.json_response(body)

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        self.uploads[file_id] = await request.read()
        return web.Response(text=f"OK - {len(self.uploads[file_id])}")

    def _next_failure(self, method: str) -> Failure | None:
        queue = self._failures.get(method)
        if not queue:
            return None
        failure = queue[0]
        failure.times -= 1
        if failure.times <= 0:
            queue.pop(0)
        return failure

    async def _record(self, call: Call) -> None:
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    def next_ts(self) -> str:
        return f"1700001000.{next(self._ts):06d}"

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "url": "https://example.slack.com/", "team": "Example",
                    "user": "router", "team_id": TEAM, "user_id": BOT_USER, "bot_id": BOT_ID}
        if method == "users.info":
            found = self.users.get(str(params.get("user")))
            return {"ok": True, "user": found} if found else {"ok": False,
                                                              "error": "user_not_found"}
        if method == "chat.postMessage":
            ts = self.next_ts()
            return {"ok": True, "channel": params.get("channel"), "ts": ts,
                    "message": {"text": params.get("text"), "ts": ts, "bot_id": BOT_ID}}
        if method == "chat.update":
            return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts"),
                    "text": params.get("text")}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self.next_ts()}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._files):08d}"
            return {"ok": True, "file_id": file_id,
                    "upload_url": f"http://127.0.0.1:{self.port}/upload/{file_id}"}
        if method == "files.completeUploadExternal":
            files = params.get("files")
            files = json.loads(files) if isinstance(files, str) else files or []
            return {"ok": True, "files": [{"id": f["id"], "title": f.get("title", ""),
                                           "size": len(self.uploads.get(f["id"], b""))}
                                          for f in files]}
        return {"ok": False, "error": "unknown_method"}


async def _params(request: web.Request) -> dict[str, Any]:
    if request.method == "GET":
        return dict(request.query)
    if request.content_type == "application/json":
        raw = await request.read()
        return json.loads(raw) if raw else {}
    form = await request.post()
    out: dict[str, Any] = dict(request.query)  # the files methods send their params here
    for key, value in form.items():
        text = str(value)
        if key in ("blocks", "attachments"):
            out[key] = json.loads(text)
        else:
            out[key] = text
    return out
