"""Which other instances hold a socket of which visitor, so a reply is broadcast only
when another instance may have a socket to push it to (issue 28).

Every web chat reply used to be broadcast to every instance sharing the database: with
three PostgreSQL instances at 200 web chat conversations a second, those broadcasts
(sent, delivered by PostgreSQL to every instance's listener, decoded, looked up) were
12-18 % of each instance's CPU, almost all for visitors whose only socket was on the
sending instance (a load balancer's sticky sessions put a visitor's tabs on one
instance). Instead, an instance says when it gets a visitor's first socket and loses
its last (`here`, `gone`), everyone repeats what it holds every `announce_every`
seconds (a lost message heals; an instance that died without a word is forgotten after
`forget_after`), a starting instance asks (`who`) and says `bye` when it stops.

A reply is still broadcast when the sender pushed it to no socket of its own, when
another instance said it holds the visitor, and during the first `warm_up` seconds
after start, while the answers to `who` come in. What remains is the moment a second
tab opens elsewhere: until its `here` arrives, a reply pushed here is not broadcast to
it. The opening instance therefore reads the visitor's history again `catch_up` seconds
later when the visitor may have sockets elsewhere (`may_be_elsewhere`) and another
instance has been heard from at all (`peers_seen`: a single instance, or SQLite, never
reads twice, not even in the reconnection storm after a restart), and pushes what its
socket has not been sent (the widget also drops a message id it shows already).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

ANNOUNCE_EVERY = 30.0  # seconds between an instance's lists of the visitors it holds
FORGET_AFTER = 3 * ANNOUNCE_EVERY  # a peer's claim not repeated within this is dropped
WARM_UP = 5.0  # seconds after start during which every reply is broadcast
CATCH_UP = 1.0  # seconds after a socket opens before its history is read again
#: visitor ids per presence message (each about 30 bytes of JSON; a broadcast takes 7,000)
IDS_PER_MESSAGE = 150


class Presence:
    """This instance's knowledge of other instances' visitors, and its own messages."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic,
                 forget_after: float = FORGET_AFTER, warm_up: float = WARM_UP) -> None:
        self.me = secrets.token_hex(6)
        self._clock = clock
        self.forget_after = forget_after
        self.warm_up = warm_up
        self._started = clock()
        # visitor id -> {peer id: when it last said it holds the visitor}
        self._elsewhere: dict[str, dict[str, float]] = {}
        #: another instance has said anything at all (on SQLite, or alone, none ever will)
        self.peers_seen = False

    # --- what to send -------------------------------------------------------------
    def here(self, visitors: Iterable[str]) -> Iterator[dict[str, Any]]:
        """Messages saying this instance holds `visitors` (several if they are many)."""
        yield from self._lists("here", list(visitors))

    def gone(self, visitor: str) -> dict[str, Any]:
        return {"gone": [visitor], "peer": self.me}

    def who(self) -> dict[str, Any]:
        return {"who": self.me}

    def bye(self) -> dict[str, Any]:
        return {"bye": self.me}

    def _lists(self, kind: str, visitors: list[str]) -> Iterator[dict[str, Any]]:
        for start in range(0, len(visitors), IDS_PER_MESSAGE):
            yield {kind: visitors[start:start + IDS_PER_MESSAGE], "peer": self.me}

    # --- what was received ----------------------------------------------------------
    @staticmethod
    def is_presence(payload: dict[str, Any]) -> bool:
        return any(k in payload for k in ("here", "gone", "who", "bye"))

    def received(self, payload: dict[str, Any]) -> bool:
        """Take a presence message in; True when its sender asks who holds what."""
        if "who" in payload:
            asks = isinstance(payload["who"], str) and payload["who"] != self.me
            self.peers_seen = self.peers_seen or asks
            return asks
        peer = payload.get("peer") if "bye" not in payload else payload.get("bye")
        if not isinstance(peer, str) or peer == self.me:
            return False
        self.peers_seen = True
        if "bye" in payload:
            for visitor in list(self._elsewhere):
                self._drop(visitor, peer)
            return False
        visitors = payload.get("here", payload.get("gone"))
        if not isinstance(visitors, list):
            return False
        now = self._clock()
        for visitor in visitors:
            if not isinstance(visitor, str):
                continue
            if "here" in payload:
                self._elsewhere.setdefault(visitor, {})[peer] = now
            else:
                self._drop(visitor, peer)
        return False

    def _drop(self, visitor: str, peer: str) -> None:
        peers = self._elsewhere.get(visitor)
        if peers is not None:
            peers.pop(peer, None)
            if not peers:
                del self._elsewhere[visitor]

    # --- decisions ----------------------------------------------------------------
    def may_be_elsewhere(self, visitor: str) -> bool:
        """Whether another instance may hold a socket of `visitor`."""
        now = self._clock()
        if now - self._started < self.warm_up:
            return True
        self._forget_old(visitor, now)
        return visitor in self._elsewhere

    def forget_silent(self) -> None:
        """Drop the claims of peers that stopped repeating them (they died)."""
        now = self._clock()
        for visitor in list(self._elsewhere):
            self._forget_old(visitor, now)

    def _forget_old(self, visitor: str, now: float) -> None:
        for peer, seen in list(self._elsewhere.get(visitor, {}).items()):
            if now - seen > self.forget_after:
                self._drop(visitor, peer)
