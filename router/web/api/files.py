"""Files in the agents' API (issue 24): uploads, replies with files, downloads.

- `POST /uploads?name=invoice.pdf` with the file as the raw body: sniffed by its first
  bytes, refused early when too large (413) or of a type we do not take (415), else kept
  content-addressed under `attachments/console/` and answered with its id (the SHA-256).
- `POST /conversations/{id}/reply` takes `attachments: [{id, name}]` beside the text; the
  files are kept on the message and handed to the channel with the outbox row (web chat,
  Telegram `sendPhoto`/`sendDocument`, email MIME parts, Slack `files_upload_v2`).
  `if_assignee` makes the reply conditional on who holds the conversation (the console's
  collision check).
- `GET /messages/{id}/attachments/{index}` serves any attachment we keep a file for
  (`?inline=true` shows an image in place): web chat and console uploads, Telegram
  downloads and email parts (router/web/attachments/serve.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from aiohttp import web
from pydantic import Field

from router.domain.agent_errors import ActionRejected, NotFoundError
from router.domain.model import Agent
from router.engine.agents import actions
from router.web.api import serialize as js
from router.web.api.models import JsonBody, Query
from router.web.api.reports import DATA_DIR
from router.web.api.routing import DESK, Route, path_int
from router.web.attachments.keep import UPLOADS, FileKeeper, Kept
from router.web.attachments.serve import respond, servable
from router.web.attachments.sniff import ALLOWED
from router.web.http_errors import json_error

#: channels whose adapters deliver an agent's files (the rest refuse a reply with files)
FILE_CHANNELS: Final = frozenset({"webchat", "telegram", "email", "slack"})
MAX_FILES: Final = 10
CHUNK: Final = 64 * 1024


class UploadQuery(Query):
    name: str = Field("", max_length=255, description="the file's name, as the agent's "
                      "computer called it (shown to the customer)")


class FileRef(JsonBody):
    id: str = Field(pattern=r"^[0-9a-f]{64}$", description="an upload's id (POST /uploads)")
    name: str = Field("", max_length=255)


class ReplyBody(JsonBody):
    text: str = Field("", max_length=64_000, description="may be empty when files are sent")
    attachments: list[FileRef] = Field([], max_length=MAX_FILES)
    if_assignee: str | None = Field(None, max_length=200, description="send only while "
                                    "this agent holds the conversation ('' = nobody); 409 "
                                    "otherwise")


class FileQuery(Query):
    inline: bool = Field(False, description="an image to show in place rather than save")


def keeper(request: web.Request) -> FileKeeper:
    data_dir = request.app.get(DATA_DIR)
    if data_dir is None:
        raise ActionRejected("this service has no data dir for files")
    return FileKeeper(Path(data_dir), UPLOADS)


async def upload(request: web.Request, agent: Agent, query: UploadQuery) -> Any:
    keep = keeper(request)
    result = await keep.keep(query.name, request.content.iter_chunked(CHUNK),
                             request.content_length)
    if not isinstance(result, Kept):
        resp = json_error(result.status, result.code, result.message)
        resp.force_close()  # the rest of a refused body is not read
        return resp
    return {"id": result.sha256, "name": result.name, "mime": result.found.mime,
            "kind": result.found.kind, "size": result.size}


def outgoing(kept: Kept, data_dir: Path) -> dict[str, Any]:
    """A file as a channel gets it with the outbox row (`path` for Telegram and email)."""
    return {"kind": kept.found.kind, "name": kept.name, "mime": kept.found.mime,
            "size": kept.size, "stored": kept.stored, "path": str(data_dir / kept.stored)}


async def reply(request: web.Request, agent: Agent, body: ReplyBody) -> dict[str, Any]:
    desk, cid = request.app[DESK], path_int(request)
    if not body.text.strip() and not body.attachments:
        raise ActionRejected("body.text: write something, or attach a file")
    kept: list[Kept] = []
    if body.attachments:
        conv = await desk.store.read(lambda tx: actions.load(tx, cid))
        channel = conv.channel.split(":", 1)[0]
        if channel not in FILE_CHANNELS:
            raise ActionRejected(f"replies on {channel} cannot carry files (only "
                                 f"{', '.join(sorted(FILE_CHANNELS))}); send a link instead")
        keep = keeper(request)
        for ref in body.attachments:
            found = keep.describe(ref.id, ref.name)
            if found is None:
                raise ActionRejected(f"body.attachments: no upload {ref.id[:12]}…; "
                                     "upload the file with POST /uploads first")
            kept.append(found)
    data_dir = keeper(request).data_dir if kept else Path()
    result, conv = await desk.run(
        cid, actions.reply, agent, text=body.text, attachments=[k.attachment() for k in kept],
        outgoing=[outgoing(k, data_dir) for k in kept], if_assignee=body.if_assignee)
    out = js.conversation(conv)
    out["message_id"] = result
    return out


async def download(request: web.Request, agent: Agent, query: FileQuery) -> web.StreamResponse:
    message_id, index = path_int(request), path_int(request, "index")
    message = await request.app[DESK].store.read(lambda tx: tx.get_message(message_id))
    if message is None or not 0 <= index < len(message.attachments):
        raise NotFoundError(f"message {message_id} has no attachment {index}")
    attachment = message.attachments[index]
    if not servable(attachment):
        raise NotFoundError(f"attachment {index} of message {message_id} is not kept here "
                            "(only its description is: the platform has the file)")
    data_dir = request.app.get(DATA_DIR)
    if data_dir is None:
        raise NotFoundError("this service has no data dir for files")
    try:
        return await respond(request, Path(data_dir), attachment, inline=query.inline)
    except web.HTTPNotFound:
        raise NotFoundError(f"the file of attachment {index} of message {message_id} is no "
                            "longer kept (erased or removed)") from None


def routes() -> list[Route]:
    media = tuple(sorted(ALLOWED | {"application/octet-stream"}))
    return [
        Route("POST", "/uploads", upload, "Upload a file to send with a reply (raw body; "
              "type sniffed from its content; 413 too large, 415 a type not taken)", "files",
              query=UploadQuery, response="Upload", raw_body=("application/octet-stream",),
              errors=(413, 415)),
        Route("GET", "/messages/{id}/attachments/{index}", download, "An attachment's file "
              "(images inline with ?inline=true; everything else as a download)", "files",
              query=FileQuery, media=media),
    ]


def reply_route() -> Route:
    return Route("POST", "/conversations/{id}/reply", reply, "Reply to the customer on "
                 "their channel, optionally with files (a waiting conversation is claimed, a "
                 "bot-held one taken over first; `if_assignee` guards against a colleague "
                 "having taken it)", "conversations", body=ReplyBody, response="Conversation")
