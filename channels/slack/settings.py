"""Settings of the Slack channel (`channels: {slack: {...}}`).

One workspace, one bot token. Slack plays two roles, each optional: a customer channel
(DMs to the app, mentions, configured Slack Connect channels) and the agents' workspace
(handed-off conversations from every channel as threads in `agents_channel`).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SLACK_API = "https://slack.com/api/"
MAX_TEXT = 3500  # per posted message after escaping; Slack truncates `text` at 40,000
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")


class SlackSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: bot token (xoxb-...): chat:write, users:read, users:read.email, im:history,
    #: app_mentions:read, channels:history/groups:history (shared and agents' channels)
    bot_token: str
    #: the app's signing secret: every HTTP request is verified with it
    signing_secret: str
    #: "http": Events API + interactivity at /webhooks/slack/*; "socket": Socket Mode
    mode: Literal["http", "socket"] = "http"
    #: app-level token (xapp-..., connections:write), needed for mode "socket"
    app_token: str = ""
    #: Web API base URL; tests point it at a local stand-in (must end with '/')
    api_base: str = SLACK_API
    #: role 1, customers: DMs to the app and @mentions ...
    customers: bool = True
    #: ... plus every message in these (Slack Connect / shared) channel ids
    shared_channels: tuple[str, ...] = ()
    #: in shared channels, messages from our own workspace's members are not inquiries
    ignore_own_team_in_shared: bool = True
    #: role 2, agents: channel id where handed-off conversations are posted ("" = off)
    agents_channel: str = ""
    #: queues whose hand-offs are posted to the agents' channel (empty: all)
    agent_queues: tuple[str, ...] = ()
    #: users.info answers are cached this long (seconds); they fill contact name/email
    profile_ttl: float = Field(3600.0, ge=0)
    #: users.info must answer within this before intake goes on without a profile:
    #: it runs before the acknowledgement, inside Slack's 3-second budget
    profile_timeout: float = Field(1.0, gt=0, le=2.0)
    #: longest text per posted message (after escaping); longer replies are split
    max_text: int = Field(MAX_TEXT, ge=200, le=39_000)
    #: how an agent's name appears to Slack customers: "prefix" (*Name:* text),
    #: "username" (needs chat:write.customize) or "none"
    agent_attribution: Literal["prefix", "username", "none"] = "prefix"
    #: the agents' channel follows the store's events; this bounds the delay when no
    #: in-process notification arrives (another instance wrote them)
    workspace_poll: float = Field(2.0, gt=0, le=60)
    #: seconds the instance that posts to the agents' channel holds its lease without
    #: renewing it: after a crash another instance takes over within this long
    workspace_lease: float = Field(15.0, ge=0.3, le=600)
    request_timeout: float = Field(10.0, gt=0)

    @field_validator("bot_token")
    @classmethod
    def _bot_token(cls, value: str) -> str:
        if not value.startswith("xoxb-"):
            raise ValueError("a bot token starts with xoxb- (OAuth & Permissions page)")
        return value

    @field_validator("signing_secret")
    @classmethod
    def _secret(cls, value: str) -> str:
        if len(value) < 8:
            raise ValueError("copy the signing secret from Basic Information > App Credentials")
        return value

    @field_validator("api_base")
    @classmethod
    def _api_base(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("api_base must be an http(s) URL such as https://slack.com/api/")
        return value if value.endswith("/") else value + "/"  # slack-sdk joins by string

    @field_validator("shared_channels")
    @classmethod
    def _channel_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [c for c in value if not _CHANNEL_ID.match(c)]
        if bad:
            raise ValueError(f"use channel ids such as C0123ABCD, not names: {', '.join(bad)}")
        return value

    @field_validator("agents_channel")
    @classmethod
    def _agents_channel(cls, value: str) -> str:
        if value and not _CHANNEL_ID.match(value):
            raise ValueError("use the channel id (C0123ABCD: channel details > About), not its name")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> SlackSettings:
        if self.mode == "socket" and not self.app_token.startswith("xapp-"):
            raise ValueError("mode socket needs app_token (xapp-..., scope connections:write)")
        if self.agents_channel and self.agents_channel in self.shared_channels:
            raise ValueError("the agents' channel cannot also be a customers' shared channel")
        if not self.customers and not self.agents_channel:
            raise ValueError("enable customers or set agents_channel, or remove channels.slack")
        return self
