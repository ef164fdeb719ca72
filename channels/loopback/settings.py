"""Settings of the loopback channel (`channels: {loopback: {...}}`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class LoopbackSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: where replies are POSTed (JSON, with an Idempotency-Key header); empty: kept locally
    deliver_url: str = ""
    #: when set, inbound requests must carry `Authorization: Bearer <token>`
    token: str = ""
    timeout: float = Field(10.0, gt=0)
