"""Settings of outgoing webhooks (`webhooks: {<name>: {...}}`, issue 27).

The models live here, next to the code that reads them; router/config.py puts them under
the top-level `webhooks` key, so `inquiry-router check` reports their problems with the
file:line of the offending value like every other setting.
"""

from __future__ import annotations

import difflib
import re
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from router.configuration.durations import Duration

#: every event an endpoint may subscribe to, and when it is sent (docs/integrations.md)
EVENTS: dict[str, str] = {
    "conversation.opened": "a customer's message started a new conversation",
    "conversation.assigned": "an agent got the conversation (claim, auto-assignment, "
                             "takeover from the bot, transfer to an agent)",
    "conversation.handed_off": "the bot or a rule handed the conversation to the agents' queue",
    "conversation.resolved": "the conversation was resolved (by an agent, a rule or a bot)",
    "message.inbound": "a customer's message was stored",
    "message.outbound": "a reply to the customer (bot, agent or system line) was committed "
                        "for delivery",
    "contact.created": "a new contact (a customer not seen before)",
    "contact.merged": "an agent (or a signed-in web chat visitor) merged two contacts",
    "contact.erased": "a contact was erased (GDPR); ids only",
    "csat.received": "a customer rated the conversation",
    "sla.breached": "a first-response or resolution clock ran out",
}
ALL = "*"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _event(value: str) -> str:
    if value == ALL or value in EVENTS:
        return value
    close = difflib.get_close_matches(value, list(EVENTS), n=1)
    hint = f"; did you mean '{close[0]}'?" if close else f"; known: {ALL}, {', '.join(EVENTS)}"
    raise ValueError(f"unknown event '{value}'{hint}")


def _url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError("url must be an https:// address")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        raise ValueError("url must use https:// (plain http only to 127.0.0.1 or localhost): "
                         "deliveries carry customers' messages")
    return value


def _name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(f"endpoint name '{value}': use lowercase letters, digits, - and _ "
                         "(at most 40)")
    return value


EventName = Annotated[str, AfterValidator(_event)]
EndpointName = Annotated[str, AfterValidator(_name)]


class WebhookEndpoint(_Strict):
    """One receiver: where deliveries go, what it wants, and the key they are signed with."""

    url: Annotated[str, AfterValidator(_url)]
    #: the HMAC-SHA256 key, from the environment (`secret: ${CRM_WEBHOOK_SECRET}`); never
    #: stored with the deliveries, never logged
    secret: str
    events: list[EventName] = Field(min_length=1)
    #: seconds a delivery may take before it counts as failed (and is retried)
    timeout: Duration = timedelta(seconds=10)
    enabled: bool = True

    @field_validator("secret")
    @classmethod
    def _long_enough(cls, value: str) -> str:
        if len(value) < 16:  # the value itself never goes into the message
            raise ValueError("secret must be at least 16 characters (32 random bytes in hex "
                             "are better); take it from the environment: secret: ${NAME}")
        return value

    @field_validator("timeout")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("timeout must be longer than 0s")
        return value

    def wants(self, event: str) -> bool:
        return self.enabled and (ALL in self.events or event in self.events)


Endpoints = dict[EndpointName, WebhookEndpoint]
