"""An `InboundMessage` as JSON and back: how an accepted message waits in the inbox.

Deferred processing (router/backlog.py) commits the normalised message before the
platform is acknowledged and processes it afterwards, possibly after a restart, so the
message must survive as text. Every field round-trips; `received_at` keeps its offset.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from router.model import Attachment, InboundKind, InboundMessage, Sender

_VERSION = 1


def dump_inbound(msg: InboundMessage) -> str:
    s = msg.sender
    data: dict[str, Any] = {
        "v": _VERSION,
        "channel": msg.channel, "external_id": msg.external_id, "thread_key": msg.thread_key,
        "sender": [s.external_id, s.display_name, s.username, s.email, s.team,
                   s.language_hint, s.is_bot],
        "text": msg.text, "received_at": msg.received_at.isoformat(),
    }
    # Only what differs from the defaults: most messages are plain text.
    if msg.attachments:
        data["attachments"] = [[a.kind, a.name, a.mime, a.size, a.ref, a.caption, dict(a.extra)]
                               for a in msg.attachments]
    if msg.kind != InboundKind.MESSAGE:
        data["kind"] = str(msg.kind)
    for name in ("is_automatic", "reply_to", "edits", "callback_data", "message_external_id",
                 "rerun_rules"):
        value = getattr(msg, name)
        if value:
            data[name] = value
    if msg.thread_aliases:
        data["thread_aliases"] = list(msg.thread_aliases)
    if msg.metadata:
        data["metadata"] = dict(msg.metadata)
    if msg.raw is not None:
        data["raw"] = dict(msg.raw)
    return orjson.dumps(data, default=str).decode()


def load_inbound(text: str) -> InboundMessage:
    data = orjson.loads(text)
    if data.get("v") != _VERSION:
        raise ValueError(f"unknown pending message version {data.get('v')!r}")
    sender = Sender(*data["sender"])
    return InboundMessage(
        channel=data["channel"], external_id=data["external_id"],
        thread_key=data["thread_key"], sender=sender, text=data["text"],
        received_at=datetime.fromisoformat(data["received_at"]),
        attachments=tuple(Attachment(*a[:6], extra=a[6]) for a in data.get("attachments", ())),
        kind=InboundKind(data.get("kind", InboundKind.MESSAGE)),
        is_automatic=data.get("is_automatic", False), reply_to=data.get("reply_to", ""),
        thread_aliases=tuple(data.get("thread_aliases", ())), edits=data.get("edits", ""),
        callback_data=data.get("callback_data", ""), metadata=data.get("metadata", {}),
        raw=data.get("raw"), message_external_id=data.get("message_external_id", ""),
        rerun_rules=data.get("rerun_rules", False))
