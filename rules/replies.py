"""Canned replies: per-language templates, a fallback chain, rendering per channel.

`nb` text missing? The chain for nb is nb -> no -> nn -> (configured fallbacks) -> the
default language, so a customer always gets *some* answer, in the closest language the
admin wrote. The rendered text is escaped for the channel it goes to.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from router.domain.hours import Schedule
from router.domain.model import DecisionContext, QuickReply, ReplyContent
from router.domain.timefmt import format_opening
from rules import escape, templates

BUILTIN_FALLBACKS: Mapping[str, tuple[str, ...]] = {
    "nb": ("no", "nn"), "no": ("nb", "nn"), "nn": ("nb", "no"),
}


@dataclass(frozen=True, slots=True)
class CannedReply:
    id: str
    texts: Mapping[str, Any]  # language -> compiled template
    buttons: tuple[tuple[str, Mapping[str, str]], ...] = ()  # (payload, label per language)


def fallback_chain(language: str, fallbacks: Mapping[str, Sequence[str]],
                   default: str) -> tuple[str, ...]:
    chain = [language, *fallbacks.get(language, ()), *BUILTIN_FALLBACKS.get(language, ()),
             default]
    return tuple(dict.fromkeys(c for c in chain if c))


def _hours_values(schedule: Schedule, now: datetime, language: str,
                  open_now: bool) -> dict[str, Any]:
    opening = now if open_now else schedule.next_opening(now)  # as next_opening gives it
    return {
        "open": open_now,
        # written as the bots write it: one format in one conversation
        "next_opening": (format_opening(opening, language, opening.tzinfo or UTC)
                         if opening else ""),
        "next_opening_iso": opening.isoformat() if opening else "",
        "timezone": str(schedule.tz),
    }


CLOSED_CACHE = 256  # (schedule, local day, minute, language) -> values while closed
_CLOSED: dict[tuple[Any, ...], dict[str, Any]] = {}


@templates.read_by_key
class _Hours(Mapping[str, Any]):
    """`business_hours` for templates, worked out on first use.

    Every reply render builds the variables, few replies name the opening hours, and the
    next opening is the costliest of them (a walk over the schedule, then formatting).
    The values are the same whenever they are read: they depend only on `now`.
    """

    __slots__ = ("_language", "_now", "_schedule", "_values")

    def __init__(self, schedule: Schedule, now: datetime, language: str) -> None:
        self._schedule, self._now, self._language = schedule, now, language
        self._values: dict[str, Any] | None = None

    def _get(self) -> dict[str, Any]:
        if self._values is None:
            schedule, now, language = self._schedule, self._now, self._language
            if schedule.is_open(now):
                self._values = _hours_values(schedule, now, language, True)
            else:
                # Closed, the values depend only on the local minute: the next opening is
                # a walk over the schedule, the same for every reply until the clock turns
                # (a tenth of a reply's cost in the end-to-end benchmark).
                key = (schedule, *schedule.local_minute(now), language)
                values = _CLOSED.get(key)
                if values is None:
                    if len(_CLOSED) >= CLOSED_CACHE:
                        _CLOSED.clear()
                    values = _CLOSED[key] = _hours_values(schedule, now, language, False)
                self._values = dict(values)
        return self._values

    def __getitem__(self, key: str) -> Any:
        return self._get()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


@dataclass(frozen=True)
class ReplyBook:
    """Everything needed to render: replies, fallbacks, and what templates can name."""

    replies: Mapping[str, CannedReply]
    fallbacks: Mapping[str, Sequence[str]]
    default_language: str
    schedule: Schedule
    queues: Mapping[str, Mapping[str, Any]]  # name -> {description, sla: {...}}
    agents: Mapping[str, str]  # id -> display name

    def pick(self, texts: Mapping[str, Any], language: str) -> str:
        for code in fallback_chain(language, self.fallbacks, self.default_language):
            if code in texts:
                return code
        return next(iter(texts))

    def variables(self, ctx: DecisionContext, *, language: str, queue: str = "",
                  assignee: str = "", rule: str = "", tags: Any = None,
                  priority: str = "") -> dict[str, Any]:
        conv, contact = ctx.conversation, ctx.contact
        queue = queue or conv.queue
        assignee = assignee or conv.assignee
        q = self.queues.get(queue, {})
        return {
            "contact": {"name": contact.display_name, "display_name": contact.display_name,
                        "first_name": contact.first_name, "email": contact.email,
                        "language": contact.language, "tags": sorted(contact.tags),
                        "fields": dict(contact.fields)},
            "conversation": {"id": conv.id, "channel": conv.channel, "status": str(conv.status),
                             "queue": queue, "priority": priority or str(conv.priority),
                             "tags": sorted(tags if tags is not None else conv.tags),
                             "language": language, "message_count": conv.message_count,
                             "bot_turns": conv.bot_turns, "assignee": assignee},
            "queue": {"name": queue, "description": q.get("description", ""),
                      "sla": {"first_response": q.get("first_response", ""),
                              "resolution": q.get("resolution", "")}},
            "business_hours": _Hours(self.schedule, ctx.now, language),
            "agent": {"id": assignee, "name": self.agents.get(assignee, assignee)},
            "message": {"text": ctx.message.text, "channel": ctx.message.channel},
            "rule": {"name": rule},
            "language": language,
        }

    def render(self, reply_id: str, *, language: str, channel: str,
               variables: Mapping[str, Any]) -> ReplyContent:
        """Render `reply_id` for `channel`. Raises KeyError for an unknown id."""
        reply = self.replies[reply_id]
        lang = self.pick(reply.texts, language)
        text = templates.render(reply.texts[lang], {**variables, "language": lang})
        body, html = escape.for_channel(text, channel)
        buttons = tuple(QuickReply(labels[self.pick(labels, lang)], payload)
                        for payload, labels in reply.buttons)
        return ReplyContent(text=body, html=html, quick_replies=buttons, reply_id=reply_id,
                            language=lang)
