"""Field mapping: which of our values fills which CRM property. Pure: no I/O.

An admin maps CRM property names to a *source*: `contact.email`, `conversation.queue`,
`contact.fields.company` (a field agents keep on the contact), or a constant written
`{value: Chat}`. Sources are checked when the config loads, so a typo is an error at its
file:line instead of an empty property in the CRM.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from router.domain.model import Contact, Conversation

CONTACT_SOURCES = ("contact.name", "contact.first_name", "contact.last_name", "contact.email",
                   "contact.phone", "contact.language", "contact.tags")
CONVERSATION_SOURCES = (
    "conversation.id", "conversation.channel", "conversation.queue", "conversation.assignee",
    "conversation.language", "conversation.priority", "conversation.tags",
    "conversation.messages", "conversation.created_at", "conversation.resolved_at",
    "conversation.resolved_date", "conversation.link", "conversation.subject",
    "conversation.summary")
SOURCES = (*CONTACT_SOURCES, *CONVERSATION_SOURCES)
FIELDS_PREFIX = "contact.fields."
_FIELD_NAME = re.compile(r"[A-Za-z0-9_\-]{1,64}")


@dataclass(frozen=True, slots=True)
class FieldSource:
    """Where one CRM property's value comes from: a source name or a constant."""

    source: str = ""
    value: str | int | float | bool | None = None

    @property
    def constant(self) -> bool:
        return not self.source


def parse_source(raw: Any) -> FieldSource:
    """A mapping entry as written in YAML. Raises ValueError naming the fix."""
    if isinstance(raw, FieldSource):
        return raw
    if isinstance(raw, dict):
        if set(raw) != {"value"}:
            raise ValueError("a constant is written {value: ...}; other keys: "
                             f"{', '.join(sorted(set(raw) - {'value'})) or 'none'}")
        value = raw["value"]
        if value is not None and not isinstance(value, str | int | float | bool):
            raise ValueError("a constant must be a plain value (text, number, true/false)")
        return FieldSource(value=value)
    if not isinstance(raw, str):
        raise ValueError("expected a source such as contact.email, or {value: ...} for a constant")
    name = raw.strip()
    if name in SOURCES:
        return FieldSource(source=name)
    if name.startswith(FIELDS_PREFIX) and _FIELD_NAME.fullmatch(name[len(FIELDS_PREFIX):]):
        return FieldSource(source=name)
    close = difflib.get_close_matches(name, SOURCES, n=1)
    hint = f"did you mean '{close[0]}'?" if close else (
        f"known sources: {', '.join(SOURCES)}, contact.fields.<name>, or {{value: ...}}")
    raise ValueError(f"unknown source '{name}'; {hint}")


@dataclass(frozen=True, slots=True)
class Record:
    """What a sync knows about one resolved conversation, read from the store."""

    contact: Contact
    conversation: Conversation
    link: str  # where an agent reads the transcript
    subject: str
    summary: str


def _split_name(name: str) -> tuple[str, str]:
    parts = name.split()
    if len(parts) < 2:
        return "", name.strip()
    return " ".join(parts[:-1]), parts[-1]


def _iso(value: datetime | None) -> str:
    return value.isoformat().replace("+00:00", "Z") if value else ""


def value_of(source: FieldSource, record: Record) -> Any:
    """The value `source` names for `record` ("" when it has none)."""
    if source.constant:
        return source.value
    c, conv = record.contact, record.conversation
    name = source.source
    if name.startswith(FIELDS_PREFIX):
        value = c.fields.get(name[len(FIELDS_PREFIX):], "")
        return value if isinstance(value, str | int | float | bool) else ""
    first, last = _split_name(c.display_name)
    values: dict[str, Any] = {
        "contact.name": c.display_name, "contact.first_name": first, "contact.last_name": last,
        "contact.email": c.email, "contact.phone": c.phone, "contact.language": c.language,
        "contact.tags": ", ".join(c.tags),
        "conversation.id": conv.id, "conversation.channel": conv.channel,
        "conversation.queue": conv.queue, "conversation.assignee": conv.assignee,
        "conversation.language": conv.language, "conversation.priority": str(conv.priority),
        "conversation.tags": ", ".join(conv.tags), "conversation.messages": conv.message_count,
        "conversation.created_at": _iso(conv.created_at),
        "conversation.resolved_at": _iso(conv.resolved_at),
        "conversation.resolved_date": conv.resolved_at.date().isoformat() if conv.resolved_at else "",
        "conversation.link": record.link, "conversation.subject": record.subject,
        "conversation.summary": record.summary,
    }
    return values[name]


def render(fields: Mapping[str, FieldSource | None], record: Record) -> dict[str, Any]:
    """CRM properties for `record`; empty values are left out (they would blank the CRM's)."""
    out: dict[str, Any] = {}
    for prop, source in fields.items():
        if source is None:
            continue
        value = value_of(source, record)
        if value is None or value == "":
            continue
        out[prop] = value
    return out


def lookup(fields: Mapping[str, FieldSource | None], contact: Contact) -> dict[str, str]:
    """The CRM properties a contact is found by: those mapped from its email and phone,
    email first."""
    out: dict[str, str] = {}
    for name, value in (("contact.email", contact.email), ("contact.phone", contact.phone)):
        for prop, source in fields.items():
            if source is not None and source.source == name and value.strip():
                out.setdefault(prop, value.strip())
    return out
