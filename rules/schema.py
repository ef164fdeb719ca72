"""The admin's language: pydantic models of the rules-owned config keys.

Models check shapes (`extra="forbid"`, so a typo is an error, not a silent no-op). What
needs the whole config to judge (does this reply id exist? is this queue defined? does
this regex compile?) is checked by `rules.loader`, which reports everything at once.
Conditions and actions are single-key mappings (`- route: billing`); their value models
live here too, in registries that the loader and the JSON Schema both read.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

from router.configuration.durations import parse_duration
from router.domain import hours

EVENTS = ("message", "conversation_opened", "conversation_idle", "sla_breached", "resolved")
CHANNELS = ("email", "telegram", "slack", "webchat", "loopback")
PRIORITIES = ("low", "normal", "high", "urgent")
STATUSES = ("bot", "queued", "assigned", "resolved")
StrList = str | list[str]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- conditions -----------------------------------------------------------------------


class TextCondition(Strict):
    """Keywords (whole words, case/diacritics ignored, `word*` for a prefix) or an RE2 regex."""

    keywords: list[str] | dict[str, list[str]] | None = Field(
        None, description="a list, or per-language lists {sv: [...], fi: [...]}")
    match: Literal["any", "all"] = "any"
    regex: str | None = Field(None, description="RE2 syntax; \\b is Unicode-aware")
    case_sensitive: bool = False

    @model_validator(mode="after")
    def _one_of(self) -> TextCondition:
        if (self.keywords is None) == (self.regex is None):
            raise ValueError("give exactly one of 'keywords' or 'regex'")
        return self


class Range(Strict):
    eq: int | None = None
    gt: int | None = None
    gte: int | None = None
    lt: int | None = None
    lte: int | None = None


Count = int | Range


class SenderCondition(Strict):
    email: StrList | None = Field(None, description="addresses; '*' globs: '*@example.com'")
    domain: StrList | None = Field(None, description="email domains, subdomains included")
    username: StrList | None = Field(None, description="Telegram/Slack username, '@' optional")
    user: StrList | None = Field(None, description="platform user id (e.g. Slack U123)")
    team: StrList | None = Field(None, description="Slack team id")


class ContactCondition(Strict):
    tag: StrList | None = Field(None, description="any of these contact tags")
    fields: dict[str, Any] | None = Field(None, description="field: value (or list: any of)")
    language: StrList | None = None


class ConversationCondition(Strict):
    status: list[Literal["bot", "queued", "assigned", "resolved"]] | Literal[
        "bot", "queued", "assigned", "resolved"] | None = None
    tag: StrList | None = None
    queue: StrList | None = None
    priority: list[Literal["low", "normal", "high", "urgent"]] | Literal[
        "low", "normal", "high", "urgent"] | None = None
    message_count: Count | None = None
    bot_turns: Count | None = None
    assigned: bool | None = None


# Leaf condition kinds -> the type of their value. all/any/not are handled structurally.
CONDITION_TYPES: dict[str, Any] = {
    "channel": StrList,
    "language": StrList,
    "text": TextCondition,
    "attachment": bool | StrList,
    "sender": SenderCondition,
    "contact": ContactCondition,
    "conversation": ConversationCondition,
    "business_hours": Literal["open", "closed"],
    "first_message": bool,
}
COMBINATORS = ("all", "any", "not")


# --- actions --------------------------------------------------------------------------


class WebhookAction(Strict):
    url: str = Field(..., description="http(s) URL; delivered through the outbox")
    payload: dict[str, Any] | None = Field(
        None, description="extra JSON fields; string values are templates")

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("the webhook url must start with http:// or https://")
        return value


class RouteAction(Strict):
    """`route: {queue: billing, bots_first: true}`: the queue a person takes it from."""

    queue: str = Field(..., description="queue name")
    bots_first: bool = Field(
        False, description="the bots still answer what they can; the conversation goes to "
                           "the queue only when it is handed to a person")


class AssignAction(Strict):
    """`assign: {to: bob, bots_first: true}`: who takes it once a person is needed."""

    to: str = Field(..., description="agent or team")
    bots_first: bool = Field(
        False, description="the bots still answer what they can; the agent or team gets the "
                           "conversation when it is handed to a person")


ACTION_TYPES: dict[str, Any] = {
    "reply": str,
    "route": str | RouteAction,
    "assign": str | AssignAction,
    "priority": Literal["low", "normal", "high", "urgent"],
    "tag": StrList,
    "untag": StrList,
    "set_language": str,
    "handoff": bool | str,
    "resolve": bool,
    "note": str,
    "webhook": WebhookAction,
    "stop": bool,
}

_ADAPTERS: dict[str, TypeAdapter[Any]] = {}


def adapter(kind: str, table: dict[str, Any]) -> TypeAdapter[Any]:
    """Cached TypeAdapter for a condition or action value type."""
    key = f"{id(table)}:{kind}"
    if key not in _ADAPTERS:
        _ADAPTERS[key] = TypeAdapter(table[kind])
    return _ADAPTERS[key]


# --- rules, replies, business hours ---------------------------------------------------


class Rule(Strict):
    name: str = Field(..., min_length=1)
    description: str = ""
    enabled: bool = True
    on: Any = Field("message", description="an event name, {conversation_idle: 30m}, or a list")
    when: Any = Field(None, description="a condition; a list or mapping means all of them")
    then: list[Any] = Field(default_factory=list, description="actions, in order")
    stop: bool = False


class Button(Strict):
    payload: str
    label: str | dict[str, str]


class BusinessHours(Strict):
    timezone: str = "UTC"
    weekly: dict[str, Any] = Field(default_factory=dict,
                                   description="{mon-fri: '08:00-17:00', sat: closed}")
    holidays: list[date] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        hours.parse_timezone(value)
        return value

    @field_validator("weekly")
    @classmethod
    def _weekly(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key, spans in value.items():
            hours.parse_days(key)
            hours.parse_spans(spans)
        return value


class RulesConfig(BaseModel):
    """The top-level keys the rules package owns; the router validates the others."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    languages: list[str] = Field(default_factory=lambda: ["en"], min_length=1)
    default_language: str | None = None
    language_fallbacks: dict[str, list[str]] = Field(default_factory=dict)
    business_hours: BusinessHours | None = None
    replies: dict[str, dict[str, Any]] = Field(default_factory=dict)
    rules: list[Rule] = Field(default_factory=list)


OWNED_KEYS = ("languages", "default_language", "language_fallbacks", "business_hours",
              "replies", "rules")


def parse_on(value: Any) -> list[tuple[str, float | None]]:
    """`on:` -> [(event, idle_seconds)]. Raises ValueError with the accepted forms."""
    items = value if isinstance(value, list) else [value]
    out: list[tuple[str, float | None]] = []
    for item in items:
        if isinstance(item, str) and item in EVENTS and item != "conversation_idle":
            out.append((item, None))
        elif isinstance(item, dict) and list(item) == ["conversation_idle"]:
            out.append(("conversation_idle", parse_duration(item["conversation_idle"], positive=True)
                        .total_seconds()))
        else:
            raise ValueError(
                f"unknown event {item!r}; use one of message, conversation_opened, "
                "sla_breached, resolved, or {conversation_idle: 30m}")
    return out
