"""Who is looking at a conversation, and who is typing in it (issue 24: collisions).

The console says what its agent does: `viewing` when a conversation is open (again every
`VIEWING_TTL / 3` seconds while it stays open), `typing` while a reply or note is being
written, `left` when it closes. The board keeps that in memory for a short while (an
entry nobody renews expires: a closed laptop does not stay "viewing" for ever) and every
change anyone could see goes to the live streams as a frame

    {"type": "presence", "conversation_id": 7,
     "viewers": [{"agent": "olle", "name": "Olle Ek", "typing": true, "mode": "reply"}]}

and a stream that connects gets the board as it is. The signals are momentary and
advisory (what keeps two replies apart for real is the reply's `if_assignee`), so they
live in the process: with several instances behind a balancer, agents see the viewers
on their own instance only (docs/agents.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal

from aiohttp import web
from pydantic import Field

from router.domain.model import Agent
from router.engine.agents import actions
from router.web.api.models import JsonBody
from router.web.api.routing import DESK, Route, path_int

VIEWING_TTL: Final = 45.0  # seconds a "viewing" lasts unless renewed
TYPING_TTL: Final = 6.0  # seconds a "typing" lasts unless renewed
MAX_QUEUE: Final = 1000  # frames a slow stream may fall behind before it misses some


@dataclass(slots=True)
class _Seen:
    name: str
    until: float
    typing_until: float = 0.0
    mode: str = "reply"


class Board:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._convs: dict[int, dict[str, _Seen]] = {}
        self._listeners: set[asyncio.Queue[dict[str, Any]]] = set()
        self._timer: asyncio.TimerHandle | None = None

    def viewers(self, conversation_id: int) -> list[dict[str, Any]]:
        now = self.clock()
        return [{"agent": agent, "name": s.name, "typing": s.typing_until > now, "mode": s.mode}
                for agent, s in sorted(self._convs.get(conversation_id, {}).items())]

    def frame(self, conversation_id: int) -> dict[str, Any]:
        return {"type": "presence", "conversation_id": conversation_id,
                "viewers": self.viewers(conversation_id)}

    def update(self, conversation_id: int, agent: str, name: str, state: str,
               mode: str = "reply") -> list[dict[str, Any]]:
        """Record what `agent` does now; returns the conversation's viewers."""
        now = self.clock()
        seen = self._convs.setdefault(conversation_id, {})
        before = self.viewers(conversation_id)
        if state == "left":
            seen.pop(agent, None)
        else:
            entry = seen.get(agent) or _Seen(name, 0.0)
            entry.name, entry.until = name, now + VIEWING_TTL
            if state == "typing":
                entry.typing_until, entry.mode = now + TYPING_TTL, mode
            elif state == "viewing":
                entry.typing_until = 0.0
            seen[agent] = entry
        if not seen:
            self._convs.pop(conversation_id, None)
        after = self.viewers(conversation_id)
        if after != before:
            self._publish(conversation_id)
        self._schedule()
        return after

    def snapshot(self) -> list[dict[str, Any]]:
        return [self.frame(cid) for cid in sorted(self._convs)]

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(MAX_QUEUE)
        self._listeners.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._listeners.discard(queue)

    def _publish(self, conversation_id: int) -> None:
        frame = self.frame(conversation_id)
        for queue in self._listeners:
            with contextlib.suppress(asyncio.QueueFull):  # a stuck stream misses frames
                queue.put_nowait(frame)

    def _schedule(self) -> None:
        """One timer for the next expiry (viewing or typing) of any entry."""
        now = self.clock()
        ends = [t for seen in self._convs.values() for s in seen.values()
                for t in (s.until, s.typing_until) if t > now]
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if ends:
            self._timer = asyncio.get_running_loop().call_later(min(ends) - now + 0.05,
                                                                self._expire)

    def _expire(self) -> None:
        self._timer = None
        now = self.clock()
        for cid in list(self._convs):
            seen = self._convs[cid]
            changed = False
            for agent in list(seen):
                s = seen[agent]
                if s.until <= now:
                    del seen[agent]
                    changed = True
                elif 0 < s.typing_until <= now:
                    s.typing_until = 0.0
                    changed = True
            if not seen:
                del self._convs[cid]
            if changed:
                self._publish(cid)
        self._schedule()


BOARD = web.AppKey("presence_board", Board)


async def follow(app: web.Application, ws: web.WebSocketResponse) -> None:
    """Send a stream the board now and every change after (run beside the event loop of
    `/stream`; ends when the socket does)."""
    board = app.get(BOARD)
    if board is None:
        return
    queue = board.subscribe()
    try:
        for frame in board.snapshot():
            await ws.send_json(frame)
        while not ws.closed:
            await ws.send_json(await queue.get())
    except (ConnectionResetError, RuntimeError):
        pass  # the client went away mid-send
    finally:
        board.unsubscribe(queue)


class PresenceBody(JsonBody):
    state: Literal["viewing", "typing", "left"]
    mode: Literal["reply", "note"] = Field("reply", description="what is being typed")


async def set_presence(request: web.Request, agent: Agent,
                       body: PresenceBody) -> dict[str, Any]:
    cid = path_int(request)
    await request.app[DESK].store.read(lambda tx: actions.load(tx, cid))  # 404 if unknown
    viewers = request.app[BOARD].update(cid, agent.name, agent.display_name or agent.name,
                                        body.state, body.mode)
    return {"conversation_id": cid, "viewers": viewers}


async def get_presence(request: web.Request, agent: Agent) -> dict[str, Any]:
    cid = path_int(request)
    await request.app[DESK].store.read(lambda tx: actions.load(tx, cid))
    return {"conversation_id": cid, "viewers": request.app[BOARD].viewers(cid)}


def routes() -> list[Route]:
    one = "/conversations/{id}/presence"
    return [
        Route("POST", one, set_presence, "Say that you are viewing, typing in or leaving a "
              "conversation (other agents see it live as `presence` frames on /stream)",
              "conversations", body=PresenceBody, response="Presence"),
        Route("GET", one, get_presence, "Who is viewing or typing in a conversation now",
              "conversations", response="Presence"),
    ]
