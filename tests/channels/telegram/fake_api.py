"""A stand-in Bot API server on 127.0.0.1 that the real aiogram client talks to.

It records every call (`POST /bot<token>/<method>`, form or multipart fields), answers
like Telegram, can fail chosen calls with 429/403/400/500, and serves `getUpdates` from a
queue honouring `offset` the way Telegram does (a higher offset confirms older updates).
Files added with `add_file` are served by `getFile` and `GET /file/bot<token>/<path>`
(recorded as method "file"; `fail("file", 500)` fails a download).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes import LocalServer

BOT_ID = 123456
TOKEN = f"{BOT_ID}:TEST-token"
BOT_USERNAME = "support_bot"


@dataclass
class Call:
    token: str
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    status: int = 200


@dataclass
class Failure:
    status: int
    description: str
    retry_after: int | None = None
    times: int = 1
    after: int = 0  # let this many calls succeed first


class FakeTelegramAPI(LocalServer):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []
        self._failures: dict[str, list[Failure]] = {}
        self._message_ids = itertools.count(1000)
        #: file_id -> (file_path, content, size reported by getFile or None)
        self.files: dict[str, tuple[str, bytes, int | None]] = {}

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)

    # --- scripting -------------------------------------------------------------------
    def fail(self, method: str, status: int, description: str = "", *,
             retry_after: int | None = None, times: int = 1, after: int = 0) -> None:
        """Answer `times` calls of `method` with an error, after `after` successes."""
        text = description or {429: f"Too Many Requests: retry after {retry_after}",
                               403: "Forbidden: bot was blocked by the user",
                               400: "Bad Request: chat not found",
                               500: "Internal Server Error"}.get(status, "error")
        self._failures.setdefault(method, []).append(Failure(status, text, retry_after, times, after))

    def clear_failures(self) -> None:
        self._failures.clear()

    def add_file(self, file_id: str, content: bytes, *, report_size: bool = True) -> str:
        """Serve `content` for `file_id`; getFile reports its size unless told not to."""
        path = f"documents/file_{len(self.files)}.bin"
        self.files[file_id] = (path, content, len(content) if report_size else None)
        return path

    async def push_update(self, update: dict[str, Any]) -> None:
        async with self._changed:
            self.updates.append(update)
            self._changed.notify_all()

    def called(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.status == 200]

    def attempts(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    # --- serving ---------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _fields(request)
        call = Call(request.match_info["token"], method, params)
        if method == "getUpdates":
            return await self._get_updates(call)
        failure = self._next_failure(method)
        if failure is not None:
            call.status = failure.status
            body: dict[str, Any] = {"ok": False, "error_code": failure.status,
                                    "description": failure.description}
            if failure.retry_after is not None:
                body["parameters"] = {"retry_after": failure.retry_after}
            await self._record(call)
            return web.json_response(body, status=failure.status)
        if method == "getFile" and params.get("file_id") not in self.files:
            call.status = 400
            await self._record(call)
            return web.json_response({"ok": False, "error_code": 400,
                                      "description": "Bad Request: invalid file_id"}, status=400)
        await self._record(call)
        return web.json_response({"ok": True, "result": self._result(method, params)})

    async def _file(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        call = Call(request.match_info["token"], "file", {"path": path})
        content = next((c for p, c, _ in self.files.values() if p == path), None)
        failure = self._next_failure("file")
        if content is None or failure is not None:
            call.status = failure.status if failure is not None else 404
            await self._record(call)
            return web.Response(status=call.status, text="error")
        response = web.StreamResponse()
        await response.prepare(request)
        with contextlib.suppress(ConnectionResetError):  # a client may cut a large file
            for start in range(0, len(content), 16384):  # chunked, as a large file arrives
                await response.write(content[start:start + 16384])
            await response.write_eof()
        await self._record(call)
        return response

    def _next_failure(self, method: str) -> Failure | None:
        queue = self._failures.get(method)
        if not queue:
            return None
        failure = queue[0]
        if failure.after > 0:
            failure.after -= 1
            return None
        failure.times -= 1
        if failure.times <= 0:
            queue.pop(0)
        return failure

    async def _record(self, call: Call) -> None:
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    async def _get_updates(self, call: Call) -> web.Response:
        offset = int(call.params.get("offset", 0) or 0)
        timeout = min(float(call.params.get("timeout", 0) or 0), 2.0)
        async with self._changed:
            if offset:  # Telegram forgets updates below a confirmed offset
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
            self.calls.append(call)
            self._changed.notify_all()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait_for(lambda: bool(self.updates)), timeout)
            batch = list(self.updates[:100])
        return web.json_response({"ok": True, "result": batch})

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return {"id": BOT_ID, "is_bot": True, "first_name": "Support",
                    "username": BOT_USERNAME}
        if method == "getFile":
            path, _, size = self.files[params["file_id"]]
            result = {"file_id": params["file_id"], "file_unique_id": f"u{params['file_id']}",
                      "file_path": path}
            return result | ({"file_size": size} if size is not None else {})
        if method.startswith("send"):
            chat_id = int(params.get("chat_id", 0))
            message: dict[str, Any] = {
                "message_id": next(self._message_ids), "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}}
            if "text" in params:
                message["text"] = params["text"]
            return message
        return True


async def _fields(request: web.Request) -> dict[str, Any]:
    """Form fields as Telegram receives them; JSON-encoded objects decoded for asserts."""
    form = await request.post()
    out: dict[str, Any] = {}
    for key, value in form.items():
        if isinstance(value, web.FileField):
            out[key] = {"filename": value.filename, "content": value.file.read()}
        elif key in ("reply_markup", "reply_parameters", "allowed_updates"):
            out[key] = json.loads(str(value))
        else:
            out[key] = value
    return out
