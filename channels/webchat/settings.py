"""Settings of the web chat channel (`channels: {webchat: {...}}`)."""

from __future__ import annotations

import re
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator

from router.durations import Duration

_LANG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


class WebchatSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: HMAC key for visitor tokens; write `${WEBCHAT_SECRET}` and keep it out of the file.
    #: Empty: the WEBCHAT_SECRET variable, else a key made once in the data dir.
    #: Changing it signs every visitor out (they start a new conversation).
    secret: str = ""
    #: sites allowed to embed the widget (`https://shop.example`); the page is refused
    #: as a frame elsewhere and WebSockets from other origins are refused
    allowed_origins: list[str] = []
    title: str = Field("Chat with us", max_length=120)
    #: used when none of the browser's languages is in `languages`
    default_language: str = "en"
    #: offered in the language switcher, in this order
    languages: list[str] = ["en", "sv", "fi", "nb", "uk"]
    #: how long a visitor keeps their conversation without coming back
    visitor_ttl: Duration = timedelta(days=90)
    max_text: int = Field(4000, ge=1, le=64_000)
    #: per visitor socket: messages allowed per 10 seconds (a burst guard, not a quota)
    rate_per_10s: int = Field(20, ge=1)

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: str) -> str:
        if value and len(value) < 16:
            raise ValueError("the secret needs at least 16 characters")
        return value

    @field_validator("languages")
    @classmethod
    def _codes(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not _LANG.match(v)]
        if bad or not value:
            raise ValueError(f"languages must be codes such as en, sv, pt-BR; got {bad or value}")
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not re.match(r"^https?://[^/\s]+$", v)]
        if bad:
            raise ValueError(f"origins are scheme://host[:port] without a path; got {bad}")
        return [v.lower() for v in value]

    @field_validator("default_language")
    @classmethod
    def _default(cls, value: str) -> str:
        if not _LANG.match(value):
            raise ValueError(f"'{value}' is not a language code such as en or sv")
        return value
