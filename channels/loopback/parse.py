"""Pure translation of a loopback JSON payload into an `InboundMessage`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from router.domain.errors import PayloadRejected
from router.domain.model import InboundKind, InboundMessage, Sender

MAX_TEXT = 64_000


class LoopbackPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=200)
    thread: str = Field(min_length=1, max_length=200)
    sender: str = Field(alias="from", min_length=1, max_length=200)
    name: str = Field("", max_length=200)
    email: str = Field("", max_length=320)
    text: str = Field(max_length=MAX_TEXT)
    language: str = Field("", max_length=20)
    automatic: bool = False
    is_bot: bool = False
    callback: str = Field("", max_length=200)
    edits: str = Field("", max_length=200)


def parse_payload(body: Any) -> InboundMessage:
    """Raise PayloadRejected with a readable reason for anything malformed."""
    if not isinstance(body, dict):
        raise PayloadRejected("expected a JSON object")
    try:
        p = LoopbackPayload.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "body"
        raise PayloadRejected(f"{where}: {first['msg']}") from None
    kind = InboundKind.MESSAGE
    if p.callback:
        kind = InboundKind.CALLBACK
    elif p.edits:
        kind = InboundKind.EDIT
    return InboundMessage(
        channel="loopback", external_id=p.id, thread_key=p.thread,
        sender=Sender(external_id=p.sender, display_name=p.name, language_hint=p.language,
                      email=p.email, is_bot=p.is_bot),
        text=p.text, received_at=datetime.now(UTC), kind=kind, is_automatic=p.automatic,
        callback_data=p.callback, edits=p.edits, raw=body,
    )
