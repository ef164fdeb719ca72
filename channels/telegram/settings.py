"""Settings of the Telegram channel (`channels: {telegram: {bots: [...]}}`).

Each bot (token) is its own adapter and inbox; its channel name is `telegram:<name>`, so
adding a second bot never renames the first one's conversations or pending replies.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

OFFICIAL_API = "https://api.telegram.org"
DEFAULT_ALLOWED_UPDATES = ("message", "edited_message", "callback_query", "my_chat_member")
_TOKEN = re.compile(r"^\d+:[\w-]+$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RateLimits(_Strict):
    """Telegram's published limits; the defaults keep a bot inside them."""

    per_chat_per_second: float = Field(1.0, gt=0)
    per_group_per_minute: float = Field(20.0, gt=0)
    global_per_second: float = Field(30.0, gt=0)


class DownloadSettings(_Strict):
    """Optional download of received files into `<data_dir>/<dir>/telegram/<sha256>`."""

    enabled: bool = False
    #: larger files are not kept (the Bot API itself serves at most 20 MB)
    max_bytes: int = Field(20_000_000, gt=0)
    #: relative to the service's data_dir
    dir: str = "attachments"

    @field_validator("dir")
    @classmethod
    def _dir(cls, value: str) -> str:
        if not value or value.startswith("/") or ".." in value.split("/"):
            raise ValueError("a relative directory under data_dir, such as 'attachments'")
        return value


class BotSettings(_Strict):
    #: short id: the channel is `telegram:<name>`, the webhook `/webhooks/telegram/<name>`
    name: str
    token: str
    mode: Literal["webhook", "polling"] = "webhook"
    #: compared with the X-Telegram-Bot-Api-Secret-Token header (required for webhooks)
    webhook_secret: str = ""
    #: public URL Telegram should post to; when set, setWebhook runs on start
    webhook_url: str = ""
    #: Bot API server: a self-hosted `telegram-bot-api`, or a local stand-in in tests
    api_base: str = OFFICIAL_API
    allowed_updates: tuple[str, ...] = DEFAULT_ALLOWED_UPDATES
    #: groups: answer only when mentioned/replied to, every message, or never
    group_mode: Literal["mention", "all", "off"] = "mention"
    #: the bot's @username (without @); asked with getMe on start when empty
    username: str = ""
    #: an edit normally only updates the stored message; true: rules see it as new
    rerun_rules_on_edit: bool = False
    polling_timeout: int = Field(25, ge=0, le=50)
    request_timeout: float = Field(30.0, gt=0)
    rate_limits: RateLimits = RateLimits()
    download: DownloadSettings = DownloadSettings()

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("use lowercase letters, digits, '-' or '_' (it is part of a URL)")
        return value

    @field_validator("token")
    @classmethod
    def _token(cls, value: str) -> str:
        if not _TOKEN.match(value):
            raise ValueError("a bot token looks like 123456:ABC-def (ask @BotFather)")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret(cls, value: str) -> str:
        # Telegram's own rule for secret_token: 1-256 of A-Z a-z 0-9 _ -
        if value and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value):
            raise ValueError("1-256 characters of A-Z, a-z, 0-9, '_' and '-'")
        return value

    @field_validator("api_base")
    @classmethod
    def _api_base(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("api_base must be an http(s) URL such as https://api.telegram.org")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> BotSettings:
        if self.mode == "webhook" and not self.webhook_secret:
            raise ValueError(f"bot '{self.name}': mode webhook needs webhook_secret, or "
                             "anyone could post forged updates")
        return self

    @property
    def channel(self) -> str:
        return f"telegram:{self.name}"

    @property
    def bot_id(self) -> int:
        return int(self.token.split(":", 1)[0])


class TelegramSettings(_Strict):
    bots: list[BotSettings] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> TelegramSettings:
        names = [b.name for b in self.bots]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"bot names must be unique: {', '.join(dupes)}")
        return self
