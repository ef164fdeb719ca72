"""Files in the web chat (issue 24): a visitor attaches one, and downloads what was sent.

`POST /chat/upload?id=<client id>&name=<file name>&lang=sv` carries the file as the raw
body and the visitor token as `Authorization: Bearer <token>` (the widget keeps it; the
cookie also works on our own page). The file is sniffed by its first bytes and refused
early when too large (413) or of a type we do not take (415), with a message that names
the file; a taken file is kept content-addressed (`attachments/webchat/<sha256>`) and
becomes a customer message of its own through the same inbox as typed text, acknowledged
after its commit. The client id makes a retry the same message, as for typed messages.

`GET /chat/files/<message id>/<index>` serves a file of the visitor's own conversation
(customer uploads and agents' replies; never an internal note's), with the headers of
router/web/attachments/serve.py. The widget fetches it with the token header and shows it
from a `blob:` URL, so no token ends up in a URL or a log.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

from aiohttp import web

from channels.webchat import protocol, tokens
from channels.webchat.session import Bucket
from channels.webchat.web import origin_allowed
from router.domain.errors import PayloadRejected, ServiceStopping
from router.domain.model import Attachment, InboundMessage, Sender
from router.ports.channel import ChannelInbox
from router.web.attachments.keep import FileKeeper, Kept
from router.web.attachments.serve import public, respond, servable
from router.web.http_errors import json_error

if TYPE_CHECKING:
    from channels.webchat.adapter import WebchatAdapter

log = logging.getLogger(__name__)

SOURCE: Final = "webchat"
CHUNK: Final = 64 * 1024
CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
RATE: Final = (10, 60.0)  # uploads per visitor per minute
MAX_VISITORS: Final = 10_000  # rate buckets kept (the least recent go first)


class Uploads:
    def __init__(self, adapter: WebchatAdapter, data_dir: Path) -> None:
        self.adapter = adapter
        s = adapter.settings.attachments
        self.keeper = FileKeeper(data_dir, SOURCE, max_bytes=s.max_bytes)
        self.data_dir = data_dir
        self._buckets: OrderedDict[str, Bucket] = OrderedDict()

    def routes(self, inbox: ChannelInbox) -> list[web.RouteDef]:
        async def upload(request: web.Request) -> web.StreamResponse:
            return await self.upload(request, inbox)

        return [web.post("/chat/upload", upload),
                web.get("/chat/files/{message_id}/{index}", self.download)]

    def _visitor(self, request: web.Request) -> tokens.Visitor | None:
        s = self.adapter.settings
        header = request.headers.get("Authorization", "")
        given = header[7:].strip() if header[:7].lower() == "bearer " else ""
        ttl = s.visitor_ttl.total_seconds()
        return (tokens.verify(s.secret, given, ttl)
                or tokens.verify(s.secret, request.cookies.get("ir_webchat", ""), ttl))

    def _bucket(self, visitor_id: str) -> Bucket:
        bucket = self._buckets.pop(visitor_id, None) or Bucket(*RATE)
        self._buckets[visitor_id] = bucket
        while len(self._buckets) > MAX_VISITORS:
            self._buckets.popitem(last=False)
        return bucket

    async def upload(self, request: web.Request, inbox: ChannelInbox) -> web.StreamResponse:
        if not origin_allowed(request, self.adapter.settings.allowed_origins):
            return json_error(403, "origin", "this site may not open the chat")
        visitor = self._visitor(request)
        if visitor is None:
            return json_error(401, "bad_token", "visitor token invalid or expired")
        client_id = request.query.get("id", "")
        if not CLIENT_ID.match(client_id):
            return json_error(400, "rejected", "query.id: 8-64 letters, digits, - or _")
        name = request.query.get("name", "")[:255]
        lang = request.query.get("lang", "")[:20]
        if not self._bucket(visitor.id).take():
            return _refused(json_error(429, "slow_down", "too many files; wait a minute"))
        kept = await self.keeper.keep(name, request.content.iter_chunked(CHUNK),
                                      request.content_length)
        if not isinstance(kept, Kept):
            log.info("webchat: a file from %s was refused: %s", visitor.id, kept.code)
            return _refused(json_error(kept.status, kept.code, kept.message,
                                       id=client_id, max_bytes=self.keeper.max_bytes))
        received = datetime.now(UTC)
        stored = kept.attachment()
        inbound = InboundMessage(
            channel=protocol.CHANNEL, external_id=f"{visitor.id}:{client_id}",
            thread_key=visitor.id, sender=Sender(external_id=visitor.id, language_hint=lang),
            text="", received_at=received, metadata={"lang": lang},
            attachments=(Attachment(
                kind=kept.found.kind, name=kept.name, mime=kept.found.mime, size=kept.size,
                extra={k: stored[k] for k in ("stored", "sha256", "stored_size")}),))
        try:
            result = await inbox.receive_message(inbound)
        except PayloadRejected as exc:
            return json_error(400, "rejected", exc.reason, id=client_id)
        except ServiceStopping:
            return json_error(503, "unavailable", "restarting; send the file again",
                              id=client_id)
        files = [public(stored, 0)]
        if not result.duplicate and result.message_id is not None:
            # the visitor's other tabs show it too; this tab knows it by its client id
            await self.adapter.push(visitor.id, {
                "type": "message", "id": result.message_id, "text": "", "author": "customer",
                "name": "", "client_id": client_id, "quick_replies": [],
                "attachments": files, "at": protocol.iso(received)})
        return web.json_response({"id": client_id, "message_id": result.message_id,
                                  "duplicate": result.duplicate, "attachments": files},
                                 headers={"Cache-Control": "no-store"})

    async def download(self, request: web.Request) -> web.StreamResponse:
        visitor = self._visitor(request)
        if visitor is None:
            return json_error(401, "bad_token", "visitor token invalid or expired")
        host = self.adapter.host
        try:
            message_id = int(request.match_info["message_id"])
            index = int(request.match_info["index"])
        except ValueError:
            raise web.HTTPNotFound() from None
        if host is None or not (0 < message_id < 2**63) or not 0 <= index < 100:
            raise web.HTTPNotFound()
        # not this visitor's: the same answer as "not there"
        message = await host.customer_message(visitor.id, message_id)
        attachment = message.attachments[index] if message and index < len(message.attachments) \
            else None
        if attachment is None or not servable(attachment):
            raise web.HTTPNotFound()
        return await respond(request, self.data_dir, attachment,
                             inline=request.query.get("inline") == "1")


def _refused(resp: web.Response) -> web.Response:
    resp.force_close()  # the rest of a refused body is not read
    return resp
