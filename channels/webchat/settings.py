"""Settings of the web chat channel (`channels: {webchat: {...}}`)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from router.configuration.durations import Duration

_LANG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
TITLE_MAX = 120
_TITLE_FORMS = "text, or text per language such as {sv: Chatta med oss, en: Chat with us}"


PrechatField = Literal["name", "email"]


class PrechatSettings(BaseModel):
    """The optional form a visitor fills in before chatting (issue 24)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: what the form asks for, in this order
    fields: list[PrechatField] = ["name", "email"]
    #: which of them must be filled in; with none, the visitor may skip the form
    required: list[PrechatField] = []

    @model_validator(mode="after")
    def _consistent(self) -> PrechatSettings:
        if not self.fields or len(set(self.fields)) != len(self.fields):
            raise ValueError("fields: name, email or both, each once")
        extra = [f for f in self.required if f not in self.fields]
        if extra:
            raise ValueError(f"required: {', '.join(extra)} is not in fields; add it there")
        return self


class AttachmentSettings(BaseModel):
    """Files visitors may attach (issue 24); types are fixed: images, PDF, text, Office."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: off: the widget has no attach button and /chat/upload refuses
    enabled: bool = True
    #: the largest file taken, in bytes (10 MB)
    max_bytes: int = Field(10 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024)


class WebchatSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: HMAC key for visitor tokens; write `${WEBCHAT_SECRET}` and keep it out of the file.
    #: Empty: the WEBCHAT_SECRET variable, else a key made once in the data dir.
    #: Changing it signs every visitor out (they start a new conversation).
    secret: str = ""
    #: sites allowed to embed the widget (`https://shop.example`); the page is refused
    #: as a frame elsewhere and WebSockets from other origins are refused
    allowed_origins: list[str] = []
    #: used when none of the browser's languages is in `languages`
    default_language: str = "en"
    #: offered in the language switcher, in this order
    languages: list[str] = ["en", "sv", "fi", "nb", "uk"]
    #: page title and header. Left out: the built-in one in the visitor's language.
    #: Text: shown as it is in every language. {code: text}: per language, and a
    #: language left out of the mapping gets the built-in title.
    #: (After `languages`: the mapping's codes are checked against it.)
    title: str | dict[str, str] | None = None
    #: how long a visitor keeps their conversation without coming back
    visitor_ttl: Duration = timedelta(days=90)
    max_text: int = Field(4000, ge=1, le=64_000)
    #: per visitor socket: messages allowed per 10 seconds (a burst guard, not a quota)
    rate_per_10s: int = Field(20, ge=1)
    #: files visitors may attach (issue 24): `{enabled: true, max_bytes: 10485760}`
    attachments: AttachmentSettings = AttachmentSettings()
    #: the pre-chat form (name, email); left out: visitors start chatting right away
    prechat: PrechatSettings | None = None
    #: HMAC-SHA256 key of the signed identities the embedding site passes for signed-in
    #: customers (docs/web.md); write `${WEBCHAT_IDENTITY_SECRET}`. Empty: that variable,
    #: else signed identification is off.
    identity_secret: str = ""

    @field_validator("secret", "identity_secret")
    @classmethod
    def _secret(cls, value: str) -> str:
        if value and len(value) < 16:
            raise ValueError("the secret needs at least 16 characters")
        return value

    def title_for(self, language: str) -> str | None:
        """The admin's title in `language`; None when the built-in one applies."""
        if isinstance(self.title, dict):
            return self.title.get(language)
        return self.title

    @field_validator("title", mode="before")
    @classmethod
    def _title(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            return _title_text(value, "the title", "leave title out for the built-in titles")
        if not isinstance(value, dict):
            raise ValueError(f"the title must be {_TITLE_FORMS}; got {type(value).__name__}")
        if not value:
            raise ValueError("the title is an empty mapping; leave title out for the built-in titles")
        offered = info.data.get("languages")  # missing when `languages` itself is wrong
        if offered is not None:
            offered = [*offered, info.data.get("default_language", "en")]
        out: dict[str, str] = {}
        problems: list[str] = []
        for code, text in value.items():
            if not isinstance(code, str) or not _LANG.match(code):
                problems.append(f"'{code}' is not a language code such as sv or en")
            elif offered is not None and code not in offered:
                problems.append(f"'{code}' is not in languages ({', '.join(info.data['languages'])}); "
                                f"add it there or remove its title")
            elif not isinstance(text, str):
                problems.append(f"the title for '{code}' must be text; got {type(text).__name__}")
            else:
                try:
                    out[code] = _title_text(text, f"the title for '{code}'",
                                            f"leave '{code}' out for the built-in title")
                except ValueError as exc:
                    problems.append(str(exc))
        if problems:
            raise ValueError("; ".join(problems))
        return out

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



def _title_text(text: str, what: str, otherwise: str) -> str:
    text = text.strip()
    if not text:
        raise ValueError(f"{what} is empty; write one, or {otherwise}")
    if len(text) > TITLE_MAX:
        raise ValueError(f"{what} has {len(text)} characters; at most {TITLE_MAX}")
    return text
