"""`GET /api/v1/stream`: a WebSocket of events, in id order, resumable by id.

The stream is a cursor over the append-only events table: it sends every event after the
cursor, then sleeps until the notifier says a unit of work committed (or a second has
passed, which also covers commits by other instances). A client that reconnects with
`?after=<last id it saw>` (or `Last-Event-ID`) gets everything it missed, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from typing import Any

from aiohttp import WSMsgType, web

from router.domain.agent_errors import ActionRejected
from router.domain.model import Agent
from router.domain.tasks import cancel_and_wait
from router.ports.notify import paced
from router.web.api import presence
from router.web.api import serialize as js
from router.web.api.routing import DESK, Route

SOCKETS = web.AppKey("sockets", weakref.WeakSet[web.WebSocketResponse])
BATCH = 500
POLL = 1.0  # seconds: the bound on latency for commits the notifier cannot see


async def stream(request: web.Request, agent: Agent) -> web.WebSocketResponse:
    desk = request.app[DESK]
    after = request.query.get("after") or request.headers.get("Last-Event-ID") or ""
    if after and not after.isdigit():
        raise ActionRejected("query.after: expected the id of the last event seen")
    ws = web.WebSocketResponse(heartbeat=30)
    await ws.prepare(request)
    request.app[SOCKETS].add(ws)
    cursor = int(after) if after else await desk.store.read(lambda tx: tx.last_event_id())
    await ws.send_json({"type": "hello", "agent": agent.name, "cursor": cursor})
    reader = asyncio.create_task(_read_until_closed(ws))
    # issue 24: who views or types in which conversation, as `presence` frames
    viewers = asyncio.create_task(presence.follow(request.app, ws))
    try:
        loop = asyncio.get_running_loop()
        while not reader.done():
            generation = desk.notifier.generation
            read_at = loop.time()
            # woken by every commit: one statement, no transaction around it, as the
            # console's follower reads (`Store.read(one_statement=True)`)
            events = await desk.store.read(
                lambda tx, c=cursor: tx.list_events(after_id=c, limit=BATCH),  # type: ignore[misc]
                one_statement=True)
            for event in events:
                await ws.send_json({"type": "event", **js.event(event)})
                cursor = event.id
            if len(events) < BATCH:
                await desk.notifier.wait_past(generation, POLL)
                await paced(read_at)
    except (ConnectionResetError, RuntimeError):
        pass  # the client went away mid-send
    finally:
        await cancel_and_wait(reader)
        await cancel_and_wait(viewers)
    return ws


async def _read_until_closed(ws: web.WebSocketResponse) -> None:
    """Read (and ignore) client frames: aiohttp needs a reader to see pings and close."""
    async for msg in ws:
        if msg.type == WSMsgType.ERROR:
            break


async def close_all(app: web.Application) -> None:
    """on_shutdown: close live streams so shutdown does not wait for them."""
    for ws in list(app[SOCKETS]):
        with contextlib.suppress(Exception):
            await ws.close(code=1001, message=b"server shutting down")


def routes() -> list[Route]:
    return [Route("GET", "/stream", stream, "Live events over WebSocket (resume with ?after=ID)",
                  "stream", response="EventStream", websocket=True)]


def stream_parameters() -> list[dict[str, Any]]:
    return [{"name": "after", "in": "query", "required": False,
             "description": "resume after this event id", "schema": {"type": "integer"}}]
