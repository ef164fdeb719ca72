"""Web chat adapter: the visitor's page, its WebSocket, and delivery of replies to it.

Replies are durable before `send` is called (the outbox row and its message are in the
store), so `send` only pushes to the visitor's open sockets; a visitor who is offline
gets the reply from history when the widget reconnects. That is why `send` succeeds
with nobody listening instead of retrying.

With several instances on one database, the visitor's socket may be held by another
instance than the one sending (a load balancer without sticky sessions, a second tab,
an agent's reply or a lease taken over by a less busy instance): a push is also
broadcast to the other instances (`ChannelHost.broadcast`), and those holding a socket
of that visitor push it too. Each socket belongs to one instance, so none gets it twice;
the widget also drops a message id it already shows. A push this instance delivered
itself is broadcast only when another instance may hold the visitor too (presence.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from channels.webchat import i18n, presence, protocol, visitors
from channels.webchat.hub import Hub
from channels.webchat.presence import Presence
from channels.webchat.session import visitor_socket
from channels.webchat.settings import WebchatSettings
from channels.webchat.uploads import Uploads
from channels.webchat.web import origin_allowed, page_headers, render_loader, render_page
from router.domain.errors import StoreError
from router.domain.model import AuthorKind, OutboundMessage
from router.ports.channel import ChannelAdapter, ChannelInbox, SendResult
from router.ports.channel_host import ChannelHost
from router.web.http_errors import json_error
from router.web.static import Asset, load_assets, serve_asset

log = logging.getLogger(__name__)

COOKIE = visitors.COOKIE
#: events the agent side may announce to a visitor (see `notify`)
EVENTS = frozenset({"agent_joined", "agent_typing", "agent_left", "resolved"})


class WebchatAdapter(ChannelAdapter):
    name = protocol.CHANNEL

    def __init__(self, *, settings: WebchatSettings, host: ChannelHost | None = None,
                 data_dir: Path | None = None) -> None:
        """`host`: history, outbox and contact lookups; without one (the widget served
        alone) visitors get no history, identities or downloads."""
        self.settings = settings
        self.host = host
        # files visitors attach (issue 24): kept under the data dir, off without one
        self.uploads = (Uploads(self, data_dir) if data_dir is not None
                        and settings.attachments.enabled else None)
        self.hub = Hub()
        self.assets: dict[str, Asset] = load_assets("channels.webchat")
        # every offered language's strings, with the admin's titles: the page switches
        # language in the browser without asking again
        codes = list(dict.fromkeys([*settings.languages, settings.default_language]))
        self.strings = {code: i18n.table(code, title=settings.title_for(code)) for code in codes}
        setup = {"languages": settings.languages, "default_language": settings.default_language,
                 "labels": {code: table["open"] for code, table in self.strings.items()}}
        self.loader = Asset.of(render_loader(self.assets["widget.js"].body.decode(), setup).encode(),
                               "text/javascript")
        self._remote_pushes: set[asyncio.Task[None]] = set()  # and other background work
        self.presence = Presence()
        self.announce_every = presence.ANNOUNCE_EVERY
        self.catch_up = presence.CATCH_UP
        # visitors whose history is read again soon (`_catch_up`): the oldest message id
        # their new sockets' welcomes ended at, and the ids pushed to them since
        self._catching_up: dict[str, tuple[int, set[int]]] = {}
        self._announcer: asyncio.Task[None] | None = None
        self._stopping = False
        if host is not None:
            host.on_broadcast(self._pushed_elsewhere)

    async def start(self, inbox: ChannelInbox) -> None:
        """Ask the other instances which visitors they hold, and keep saying which this
        one holds (presence.py)."""
        if self.host is None:
            return
        await self._broadcast(self.presence.who(), prompt=True)
        self._announcer = asyncio.create_task(self._announce(), name="webchat-presence")

    async def stop(self) -> None:
        self._stopping = True
        if self._announcer is not None:
            self._announcer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._announcer
        if self.host is not None:
            await self._broadcast(self.presence.bye(), prompt=True)
        for task in list(self._remote_pushes):
            task.cancel()
        await self.hub.close_all()

    # --- sockets --------------------------------------------------------------------
    async def opened(self, visitor_id: str, ws: web.WebSocketResponse) -> None:
        """A socket of the visitor said hello: pushes reach it from now on, and the other
        instances learn that this one holds the visitor."""
        first = not self.hub.online(visitor_id)
        self.hub.add(visitor_id, ws)
        if first and self.host is not None:
            for message in self.presence.here([visitor_id]):
                await self._broadcast(message, prompt=True)

    async def closed(self, visitor_id: str, ws: web.WebSocketResponse) -> None:
        self.hub.remove(visitor_id, ws)
        if not self.hub.online(visitor_id) and self.host is not None and not self._stopping:
            await self._broadcast(self.presence.gone(visitor_id))

    async def greet(self, visitor_id: str, after: int) -> dict[str, Any]:
        """The welcome for a socket that has just opened (`opened`), and, when the visitor
        may have sockets on other instances, a second look at its history soon: those
        instances may not have heard of this socket yet when they push a reply."""
        frame = await self.welcome(visitor_id, after)
        if (self.host is not None and self.presence.peers_seen
                and self.presence.may_be_elsewhere(visitor_id)):
            seen = max((m["id"] for m in frame["messages"] if isinstance(m.get("id"), int)),
                       default=after)
            pending = self._catching_up.get(visitor_id)
            if pending is not None:
                self._catching_up[visitor_id] = (min(pending[0], seen), pending[1])
            else:
                self._catching_up[visitor_id] = (seen, set())
                self._background(self._catch_up(visitor_id))
        return frame

    async def push(self, visitor_id: str, frame: dict[str, Any]) -> int:
        """`Hub.push`, noting the message ids a pending catch-up must not send again."""
        pushed = await self.hub.push(visitor_id, frame)
        pending = self._catching_up.get(visitor_id)
        if pending is not None and isinstance(frame.get("id"), int):
            pending[1].add(frame["id"])
        return pushed

    async def _catch_up(self, visitor_id: str) -> None:
        await asyncio.sleep(self.catch_up)
        after, pushed = self._catching_up.pop(visitor_id, (0, set()))
        if self.hub.online(visitor_id):
            await self._push_history(visitor_id, after, "history again for a new socket",
                                     skip=pushed)

    async def _push_history(self, visitor_id: str, after: int, what: str, *,
                            skip: set[int] | None = None) -> None:
        """The visitor's messages after `after`, but `skip`, read from the store and pushed
        to the visitor's sockets here."""
        try:
            welcome = await self.welcome(visitor_id, after)
        except StoreError as exc:  # the store's outage: they get it on reconnect
            log.warning("webchat: could not read %s: %s", what, exc)
            return
        for message in welcome["messages"]:
            if skip is None or message.get("id") not in skip:
                await self.push(visitor_id, message)

    async def _announce(self) -> None:
        """Every `announce_every` seconds: the visitors this instance holds, and the
        claims of instances that stopped repeating theirs forgotten."""
        while True:
            await asyncio.sleep(self.announce_every)
            self.presence.forget_silent()
            await self._say_here()

    async def _say_here(self) -> None:
        for message in self.presence.here(self.hub.visitors()):
            await self._broadcast(message)

    async def _broadcast(self, payload: dict[str, Any], *, prompt: bool = False) -> None:
        assert self.host is not None
        try:
            await self.host.broadcast(payload, prompt=prompt)
        except (ValueError, StoreError) as exc:  # best effort, as every broadcast
            log.warning("webchat: presence not told to other instances: %s", exc)

    def _background(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._remote_pushes.add(task)
        task.add_done_callback(self._remote_pushes.discard)

    # --- delivery -------------------------------------------------------------------
    async def send(self, message: OutboundMessage) -> SendResult:
        frame = protocol.outbound_frame(message)
        pushed = await self.push(message.recipient, frame)
        log.debug("webchat: outbox row %s pushed to %d socket(s)", message.outbox_id, pushed)
        await self._tell_other_instances(message.recipient, frame, pushed)
        return SendResult(external_id=f"webchat-{message.outbox_id}")

    async def _tell_other_instances(self, visitor_id: str, frame: dict[str, Any],
                                    pushed: int) -> None:
        """Their sockets of this visitor get the frame too (see the module's docstring),
        unless this instance pushed it and no other one may hold the visitor. A frame
        too large for one broadcast goes as its message id: they read it from the store."""
        if self.host is None or (pushed and not self.presence.may_be_elsewhere(visitor_id)):
            return
        try:
            await self.host.broadcast({"visitor": visitor_id, "frame": frame})
        except ValueError:
            if isinstance(frame.get("id"), int):
                await self.host.broadcast({"visitor": visitor_id, "after": frame["id"] - 1})

    def _pushed_elsewhere(self, payload: dict[str, Any]) -> None:
        if Presence.is_presence(payload):
            if self.presence.received(payload) and not self._stopping:  # a new instance asks
                self._background(self._say_here())
            return
        visitor_id = payload.get("visitor")
        if not isinstance(visitor_id, str) or not self.hub.online(visitor_id):
            return
        self._background(self._push_from_elsewhere(visitor_id, payload))

    async def _push_from_elsewhere(self, visitor_id: str, payload: dict[str, Any]) -> None:
        frame, after = payload.get("frame"), payload.get("after")
        if isinstance(frame, dict):
            await self.push(visitor_id, frame)
        elif isinstance(after, int):
            await self._push_history(visitor_id, after, "a reply sent elsewhere")

    def has_visitors(self) -> bool:
        """Whether a widget holds a socket on this instance (the desk's follower reads
        for signals often only while one does)."""
        return self.hub.any()

    async def notify(self, visitor_id: str, event: str, *, name: str = "",
                     elsewhere: bool = True) -> int:
        """Tell a visitor's open widgets that an agent joined, is typing, left or resolved.

        Called in-process by the agent side; `visitor_id` is the webchat conversation's
        thread key. Returns how many sockets of this instance got it (0: the visitor is
        offline here; with `elsewhere`, other instances are told too; these signals are
        momentary, so nothing is kept). The desk's follower passes `elsewhere=False`:
        every instance's follower reads the same events and signals its own sockets, and
        a broadcast from each as well had shown "Anna joined" once per instance.
        """
        if event not in EVENTS:
            raise ValueError(f"unknown webchat event {event!r}; use one of {sorted(EVENTS)}")
        frame = {"type": "event", "event": event, "name": name}
        pushed = await self.push(visitor_id, frame)
        if elsewhere:
            await self._tell_other_instances(visitor_id, frame, pushed)
        return pushed

    async def welcome(self, visitor_id: str, after: int) -> dict[str, Any]:
        """The hello answer: the visitor's conversation since message `after`."""
        frame: dict[str, Any] = {"type": "welcome", "visitor": visitor_id, "status": "",
                                 "messages": []}
        if self.host is None:
            return frame
        conv = await self.host.conversation_for(visitor_id)
        if conv is not None:
            messages = await self.host.history(conv.id)
            frame["status"] = str(conv.status)
            frame["messages"] = [protocol.history_frame(m, visitor_id) for m in messages
                                 if m.id > after and not m.internal
                                 and m.author_kind != AuthorKind.SYSTEM]
        return frame

    # --- HTTP -----------------------------------------------------------------------
    def routes(self, inbox: ChannelInbox) -> Sequence[web.RouteDef]:
        async def socket(request: web.Request) -> web.StreamResponse:
            if not origin_allowed(request, self.settings.allowed_origins):
                return json_error(403, "origin", "this site may not open the chat")
            return await visitor_socket(request, self, inbox)

        return [
            web.get("/chat", self._page),
            web.get("/chat/widget.js", self._loader),
            web.get("/chat/static/{name}", self._static),
            web.post("/chat/session", self._session),
            web.post("/chat/profile", self._profile),
            web.get("/chat/ws", socket),
            *(self.uploads.routes(inbox) if self.uploads else ()),  # issue 24
        ]

    async def _page(self, request: web.Request) -> web.Response:
        """The page in the browser's language (Accept-Language), so it is right before
        any script runs; the script then follows the visitor's own choice."""
        s = self.settings
        lang = i18n.pick_language(request.headers.get("Accept-Language", ""), s.languages,
                                  s.default_language)
        config = {"languages": s.languages, "default_language": s.default_language,
                  "max_text": s.max_text, "strings": self.strings,
                  "prechat": s.prechat.model_dump() if s.prechat else None,
                  "attachments": {"max_bytes": s.attachments.max_bytes} if self.uploads else None}
        page = render_page(self.assets["chat.html"].body.decode(), lang=lang,
                           strings=self.strings[lang], config=config)
        headers = {**page_headers(s.allowed_origins), "Content-Language": lang,
                   "Vary": "Accept-Language"}
        return web.Response(text=page, content_type="text/html", headers=headers)

    async def _loader(self, request: web.Request) -> web.Response:
        return serve_asset(request, self.loader)

    async def _static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name in ("chat.html", "widget.js"):
            raise web.HTTPNotFound()
        return serve_asset(request, self.assets.get(name))

    async def _session(self, request: web.Request) -> web.Response:
        """Issue (or renew) the visitor token; the cookie keeps it across reloads. A signed
        identity links a signed-in customer to their contact (channels/webchat/visitors.py)."""
        return await visitors.session(self, request)

    async def _profile(self, request: web.Request) -> web.Response:
        """The pre-chat form's name and email (issue 24)."""
        return await visitors.profile(self, request)


