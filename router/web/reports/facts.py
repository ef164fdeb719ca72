"""One conversation's history reduced to the facts reports count (pure, no I/O).

Only conversation columns and event kinds/times/enum fields are read, never contacts or
text, so an erased contact's conversations give the same facts as before (see
router/engine/privacy/scrub.py for what erasure keeps).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from router.domain.model import Conversation, Event
from router.engine.agents.sla import BusinessCalendar, business_time_between

CSAT_META = "bots.csat"
NONE = "(none)"


@dataclass(slots=True)
class Facts:
    id: int
    channel: str
    language: str
    queue: str
    tags: list[str]
    opened_at: datetime
    agent: str = NONE  # who answered first, else who holds it, else nobody
    queued_at: datetime | None = None  # first time it waited for a person
    first_reply_at: datetime | None = None
    resolved_at: datetime | None = None  # first resolution
    handoff_reason: str = ""
    agent_touched: bool = False
    reopened: int = 0
    breaches: set[str] = field(default_factory=set)
    csat: int | None = None
    csat_comment: bool = False
    surveyed: bool = False
    frt: float | None = None  # seconds, wall clock
    frt_business: float | None = None  # seconds of open business time
    resolution: float | None = None
    resolution_business: float | None = None
    assigned_to: list[str] = field(default_factory=list)  # "assigned" events, in order
    replies_by: list[str] = field(default_factory=list)  # agent of each agent_replied
    resolved_by: list[str] = field(default_factory=list)

    @property
    def handed_off(self) -> bool:
        return bool(self.handoff_reason)

    @property
    def deflected(self) -> bool:
        """Resolved without a person: never handed off, never assigned or answered."""
        return self.resolved_at is not None and not self.handed_off and not self.agent_touched


def _agent(actor: str) -> str:
    return actor.removeprefix("agent:") if actor.startswith("agent:") else ""


def facts(conv: Conversation, events: Sequence[Event], calendar: BusinessCalendar) -> Facts:
    opened = conv.created_at or events[0].created_at
    f = Facts(conv.id, conv.channel, conv.language or NONE, conv.queue or NONE,
              list(conv.tags), opened)
    first_agent = ""
    for e in events:
        _apply(f, e)
        f.agent_touched = f.agent_touched or e.actor.startswith("agent:")
        if e.kind == "agent_replied" and f.first_reply_at is None:
            f.first_reply_at, first_agent = e.created_at, _agent(e.actor)
    f.agent = first_agent or conv.assignee or (f.assigned_to[-1] if f.assigned_to else NONE)
    survey = conv.metadata.get(CSAT_META)
    f.surveyed = f.csat is not None or (isinstance(survey, dict) and bool(survey.get("sent_at")))
    if f.first_reply_at is not None:
        start = f.queued_at or opened
        f.frt = (f.first_reply_at - start).total_seconds()
        f.frt_business = business_time_between(calendar, start, f.first_reply_at).total_seconds()
    if f.resolved_at is not None:
        f.resolution = (f.resolved_at - opened).total_seconds()
        f.resolution_business = _seconds(business_time_between(calendar, opened, f.resolved_at))
    return f


def _seconds(value: timedelta) -> float:
    return value.total_seconds()


def _apply(f: Facts, e: Event) -> None:
    d, kind = e.data, e.kind
    if kind == "status_changed":
        if d.get("to") == "queued" and f.queued_at is None:
            f.queued_at = e.created_at
        elif d.get("to") == "resolved" and f.resolved_at is None:
            f.resolved_at = e.created_at
    elif kind == "handoff" and not f.handoff_reason:
        f.handoff_reason = str(d.get("reason") or "requested")
    elif kind == "agent_took_over":  # an agent stepped in while the bot held it
        f.handoff_reason = f.handoff_reason or "agent_takeover"
        f.queued_at = f.queued_at or e.created_at  # a person's clock starts here
    elif kind == "assigned":
        f.agent_touched = True
        f.assigned_to.append(str(d.get("agent") or _agent(e.actor)))
    elif kind == "agent_replied":
        f.agent_touched = True
        f.replies_by.append(_agent(e.actor))
    elif kind == "resolved" and _agent(e.actor):
        f.resolved_by.append(_agent(e.actor))
    elif kind == "reopened":
        f.reopened += 1
    elif kind == "sla_breached":
        f.breaches.add(str(d.get("kind")))
    elif kind == "csat" and d.get("score") is not None:
        f.csat = int(d["score"])  # the last rating counts (a survey allows one)
        f.csat_comment = f.csat_comment or bool(d.get("comment") or d.get("comment_erased"))
    elif kind == "csat_comment":
        f.csat_comment = True
