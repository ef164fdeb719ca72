"""An accepted message as JSON and back: how it waits in the inbox until processed.

Deferred processing (router/engine/backlog.py) commits the normalised message before the
platform is acknowledged and processes it afterwards, possibly after a restart, so the
message must survive as text. Every field round-trips; `received_at` keeps its offset.
An `UnparsedInbound` keeps its platform payload as it came, under `unparsed`.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import orjson

from router.domain.model import Accepted, Attachment, InboundKind, InboundMessage, Sender, UnparsedInbound

_VERSION = 1
_LONG_NUMBER = re.compile(r"\d{19}")


def dump_accepted(item: Accepted) -> str:
    if isinstance(item, UnparsedInbound):
        payload = item.payload
        return _dumps({"v": _VERSION, "channel": item.channel, "external_id": item.external_id,
                       "unparsed": orjson.Fragment(payload) if isinstance(payload, bytes)
                       else dict(payload)})
    return dump_inbound(item)


def _dumps(data: dict[str, Any]) -> str:
    try:
        return orjson.dumps(data, default=str).decode()
    except TypeError:
        # what orjson refuses (an integer beyond 64 bits, a lone surrogate: forged
        # payloads) the json module writes, escaped to ASCII
        return json.dumps(data, default=str)


def _loads(text: str) -> Any:
    if _LONG_NUMBER.search(text) is None:  # orjson would read a longer integer as a float
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass  # e.g. an escaped lone surrogate, which the json module reads
    return json.loads(text)


def load_accepted(text: str) -> Accepted:
    data = _loads(text)
    if data.get("v") != _VERSION:
        raise ValueError(f"unknown pending message version {data.get('v')!r}")
    if "unparsed" in data:
        return UnparsedInbound(data["channel"], data["external_id"], data["unparsed"])
    return _message(data)


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
    return _dumps(data)


def load_inbound(text: str) -> InboundMessage:
    item = load_accepted(text)
    if not isinstance(item, InboundMessage):
        raise ValueError("pending item is an unparsed payload, not a message")
    return item


def _message(data: dict[str, Any]) -> InboundMessage:
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
