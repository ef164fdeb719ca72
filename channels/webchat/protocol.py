"""The widget's WebSocket protocol, as pure functions: frames in, domain objects out.

Client -> server (JSON text frames):
  {"type": "hello", "token": "...", "after": 0, "lang": "sv"}        first frame, always
  {"type": "message", "id": "<client uuid>", "text": "...", "lang": "sv"}
  {"type": "quick_reply", "id": "<client uuid>", "payload": "...", "label": "...", "lang": "sv"}
  {"type": "ping"}
Server -> client:
  {"type": "welcome", "visitor": "...", "messages": [<message>...]}   history after `after`
  {"type": "message", "id": 12, "text": "...", "author": "bot", ...}  see `history_frame`
      (with "attachments": [{index, kind, name, mime, size, ...}]: GET /chat/files/12/<index>)
  {"type": "ack", "id": "<client uuid>", "message_id": 11, "duplicate": false}
  {"type": "event", "event": "agent_joined" | "agent_typing" | "resolved", "name": "Anna"}
  {"type": "error", "code": "...", "message": "...", "retry": false}

The client's message id becomes the inbox key (namespaced by visitor), so a message
resent after a dropped connection is recognised as a redelivery and stored once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from router.domain.errors import PayloadRejected
from router.domain.model import InboundKind, InboundMessage, Message, OutboundMessage, Sender
from router.web.attachments.serve import public

CHANNEL = "webchat"


class _Frame(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Hello(_Frame):
    type: Literal["hello"]
    token: str = Field("", max_length=200)
    after: int = Field(0, ge=0)
    lang: str = Field("", max_length=20)


class ChatFrame(_Frame):
    type: Literal["message", "quick_reply"]
    id: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    text: str = ""
    payload: str = Field("", max_length=300)
    label: str = Field("", max_length=300)
    lang: str = Field("", max_length=20)


def _validate(model: type[_Frame], data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "frame"
        raise PayloadRejected(f"{where}: {first['msg']}") from None


def parse_hello(data: Any) -> Hello:
    return _validate(Hello, data)  # type: ignore[no-any-return]


def parse_chat(data: Any, *, visitor_id: str, max_text: int,
               now: datetime | None = None) -> InboundMessage:
    """A `message` or `quick_reply` frame from `visitor_id` as an InboundMessage."""
    frame: ChatFrame = _validate(ChatFrame, data)
    received = now or datetime.now(UTC)
    sender = Sender(external_id=visitor_id, language_hint=frame.lang)
    external_id = f"{visitor_id}:{frame.id}"
    if frame.type == "quick_reply":
        if not frame.payload:
            raise PayloadRejected("quick_reply without payload")
        # like a Telegram button: the label is what the customer "said", the payload is data
        return InboundMessage(
            channel=CHANNEL, external_id=external_id, thread_key=visitor_id, sender=sender,
            text=frame.label or frame.payload, received_at=received, kind=InboundKind.CALLBACK,
            callback_data=frame.payload, metadata={"lang": frame.lang})
    text = frame.text.strip()
    if not text:
        raise PayloadRejected("empty message")
    if len(text) > max_text:
        raise PayloadRejected(f"message longer than {max_text} characters")
    return InboundMessage(
        channel=CHANNEL, external_id=external_id, thread_key=visitor_id, sender=sender,
        text=text, received_at=received, metadata={"lang": frame.lang})


def client_id_of(external_id: str, visitor_id: str) -> str:
    """The widget's own id for a stored customer message (so it can drop its echo)."""
    prefix = f"{visitor_id}:"
    return external_id[len(prefix):] if external_id.startswith(prefix) else ""


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def history_frame(message: Message, visitor_id: str) -> dict[str, Any]:
    """A stored message as the widget shows it (internal notes never get here)."""
    return {
        "type": "message", "id": message.id, "text": message.text,
        "author": str(message.author_kind), "name": "",
        "client_id": client_id_of(message.external_id, visitor_id),
        "quick_replies": [], "at": iso(message.created_at),
        "attachments": files_of(message.attachments),
    }


def files_of(attachments: Any) -> list[dict[str, Any]]:
    """The files of a message as the widget lists them (GET /chat/files/<id>/<index>)."""
    return [public(a, i) for i, a in enumerate(attachments or ()) if isinstance(a, dict)]


def outbound_frame(message: OutboundMessage) -> dict[str, Any]:
    """A reply from the outbox; its message id lets the widget drop it from later history."""
    return {
        "type": "message", "id": message.message_id, "outbox_id": message.outbox_id,
        "text": message.text, "author": str(message.author_kind), "name": message.author_name,
        "client_id": "",
        "quick_replies": [{"label": q.label, "payload": q.payload} for q in message.quick_replies],
        "at": iso(datetime.now(UTC)),
        "attachments": files_of(message.metadata.get("attachments")),  # an agent's files
    }


def error_frame(code: str, message: str, *, client_id: str = "", retry: bool = False
                ) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message, "id": client_id, "retry": retry}
