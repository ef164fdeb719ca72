"""Open visitor sockets of this process, by visitor id.

In-process only: with several service instances the adapter tells the others what it
pushes (`WebchatAdapter._tell_other_instances`), and each pushes to its own sockets. The
store stays the source of truth (history on every (re)connect); this is the fast path.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)


class Hub:
    def __init__(self) -> None:
        self._sockets: dict[str, set[web.WebSocketResponse]] = defaultdict(set)

    def add(self, visitor_id: str, ws: web.WebSocketResponse) -> None:
        self._sockets[visitor_id].add(ws)

    def remove(self, visitor_id: str, ws: web.WebSocketResponse) -> None:
        sockets = self._sockets.get(visitor_id)
        if sockets is not None:
            sockets.discard(ws)
            if not sockets:
                del self._sockets[visitor_id]

    def online(self, visitor_id: str) -> bool:
        return bool(self._sockets.get(visitor_id))

    def visitors(self) -> list[str]:
        """The visitors with a socket open here."""
        return list(self._sockets)

    def any(self) -> bool:
        """Whether any socket is open here (a visitor's entry goes with their last one)."""
        return bool(self._sockets)

    def count(self) -> int:
        return sum(len(s) for s in self._sockets.values())

    async def push(self, visitor_id: str, frame: dict[str, Any]) -> int:
        """Send `frame` to every open socket of the visitor; returns how many took it."""
        delivered = 0
        for ws in list(self._sockets.get(visitor_id, ())):
            if ws.closed:
                self.remove(visitor_id, ws)
                continue
            try:
                await ws.send_json(frame)
                delivered += 1
            except (ConnectionError, RuntimeError) as exc:
                log.info("webchat: dropping a dead socket of %s: %s", visitor_id, exc)
                self.remove(visitor_id, ws)
        return delivered

    async def close_all(self) -> None:
        for sockets in list(self._sockets.values()):
            for ws in list(sockets):
                await ws.close(code=1001, message=b"server shutting down")
        self._sockets.clear()
