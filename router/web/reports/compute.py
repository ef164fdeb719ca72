"""Facts of many conversations -> a `Report` (pure: same input, same figures).

Cohort: every figure is about the conversations *opened* in [start, end), followed to
the end of their history as stored when the report runs ("of the conversations opened in
March, 80 % were resolved; their median first response took 12 min"). A report for a
closed period is therefore stable once its conversations are closed, and can be
recomputed at any time from the event log.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from router.store.base import ts
from router.web.reports.facts import NONE, Facts
from router.web.reports.stats import Stats, percent

DIMENSIONS = ("channel", "queue", "agent", "language", "tag")
SLA_KINDS = ("first_response", "resolution")


@dataclass(slots=True)
class Group:
    """Figures for one value of a dimension (or for everything: the totals)."""

    key: str
    opened: int = 0
    resolved: int = 0
    deflected: int = 0
    handed_off: int = 0
    frt: Stats = field(default_factory=Stats)
    frt_business: Stats = field(default_factory=Stats)
    resolution: Stats = field(default_factory=Stats)
    resolution_business: Stats = field(default_factory=Stats)
    csat_count: int = 0
    csat_average: float | None = None

    @property
    def deflection_rate(self) -> float | None:
        return percent(self.deflected, self.opened)

    @property
    def handoff_rate(self) -> float | None:
        return percent(self.handed_off, self.opened)

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "opened": self.opened, "resolved": self.resolved,
                "deflected": self.deflected, "deflection_rate": self.deflection_rate,
                "handed_off": self.handed_off, "handoff_rate": self.handoff_rate,
                "frt": self.frt.as_dict(), "frt_business": self.frt_business.as_dict(),
                "resolution": self.resolution.as_dict(),
                "resolution_business": self.resolution_business.as_dict(),
                "csat_count": self.csat_count, "csat_average": self.csat_average}


@dataclass(slots=True)
class SlaRow:
    queue: str
    kind: str  # first_response | resolution
    eligible: int  # clocks that ended (met or breached)
    breached: int

    @property
    def compliance(self) -> float | None:
        return percent(self.eligible - self.breached, self.eligible)

    def as_dict(self) -> dict[str, Any]:
        return {"queue": self.queue, "kind": self.kind, "eligible": self.eligible,
                "met": self.eligible - self.breached, "breached": self.breached,
                "compliance": self.compliance}


@dataclass(slots=True)
class AgentRow:
    agent: str
    assigned: int = 0
    replies: int = 0
    first_responses: int = 0
    resolved: int = 0
    frt: Stats = field(default_factory=Stats)
    frt_business: Stats = field(default_factory=Stats)
    csat_average: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"agent": self.agent, "assigned": self.assigned, "replies": self.replies,
                "first_responses": self.first_responses, "resolved": self.resolved,
                "frt": self.frt.as_dict(), "frt_business": self.frt_business.as_dict(),
                "csat_average": self.csat_average}


@dataclass(slots=True)
class Csat:
    responses: int = 0
    surveyed: int = 0
    average: float | None = None
    distribution: dict[int, int] = field(default_factory=lambda: dict.fromkeys(range(1, 6), 0))
    comments: int = 0

    @property
    def response_rate(self) -> float | None:
        return percent(self.responses, self.surveyed)

    def as_dict(self) -> dict[str, Any]:
        return {"responses": self.responses, "surveyed": self.surveyed,
                "response_rate": self.response_rate, "average": self.average,
                "distribution": {str(k): v for k, v in self.distribution.items()},
                "comments": self.comments}


@dataclass(slots=True)
class Report:
    start: datetime
    end: datetime
    generated_at: datetime
    timezone: str
    totals: Group
    by: dict[str, list[Group]]
    handoff_reasons: dict[str, int]
    sla: list[SlaRow]
    csat: Csat
    agents: list[AgentRow]
    heatmap: list[list[int]]  # [weekday Mon=0][hour] conversations opened, local time

    def as_dict(self) -> dict[str, Any]:
        return {"period": {"from": ts(self.start), "to": ts(self.end)},
                "generated_at": ts(self.generated_at), "timezone": self.timezone,
                "totals": self.totals.as_dict(),
                "by": {k: [g.as_dict() for g in v] for k, v in self.by.items()},
                "handoff_reasons": self.handoff_reasons, "sla": [s.as_dict() for s in self.sla],
                "csat": self.csat.as_dict(), "agents": [a.as_dict() for a in self.agents],
                "heatmap": self.heatmap}


def _values(items: Iterable[float | None]) -> list[float]:
    return [v for v in items if v is not None]


def _average(scores: Sequence[int]) -> float | None:
    return round(sum(scores) / len(scores), 2) if scores else None


def group(key: str, items: Sequence[Facts]) -> Group:
    scores = [f.csat for f in items if f.csat is not None]
    return Group(
        key, opened=len(items), resolved=sum(f.resolved_at is not None for f in items),
        deflected=sum(f.deflected for f in items), handed_off=sum(f.handed_off for f in items),
        frt=Stats.of(_values(f.frt for f in items)),
        frt_business=Stats.of(_values(f.frt_business for f in items)),
        resolution=Stats.of(_values(f.resolution for f in items)),
        resolution_business=Stats.of(_values(f.resolution_business for f in items)),
        csat_count=len(scores), csat_average=_average(scores))


KEYS: dict[str, Callable[[Facts], list[str]]] = {
    "channel": lambda f: [f.channel], "queue": lambda f: [f.queue],
    "agent": lambda f: [f.agent], "language": lambda f: [f.language],
    "tag": lambda f: f.tags or [NONE],
}


def breakdown(items: Sequence[Facts], dimension: str) -> list[Group]:
    buckets: dict[str, list[Facts]] = defaultdict(list)
    for f in items:
        for key in KEYS[dimension](f):
            buckets[key].append(f)
    groups = [group(k, v) for k, v in buckets.items()]
    return sorted(groups, key=lambda g: (-g.opened, g.key))


def sla_rows(items: Sequence[Facts], targets: Mapping[str, Sequence[str]]) -> list[SlaRow]:
    """Per queue and clock: a clock counts once it ended, met (answered/resolved without
    a breach event) or breached (the scheduler's `sla_breached` event). Queues listed in
    `targets` (queue -> clock kinds configured) and queues with breach events appear."""
    out = []
    queues = sorted({f.queue for f in items if f.breaches} | {q for q in targets if targets[q]})
    for queue in queues:
        mine = [f for f in items if f.queue == queue]
        for kind in SLA_KINDS:
            if kind not in targets.get(queue, ()) and not any(kind in f.breaches for f in mine):
                continue
            ended = [f for f in mine if kind in f.breaches or (
                f.first_reply_at if kind == "first_response" else f.resolved_at) is not None]
            out.append(SlaRow(queue, kind, len(ended), sum(kind in f.breaches for f in ended)))
    return out


def agent_rows(items: Sequence[Facts]) -> list[AgentRow]:
    rows: dict[str, AgentRow] = {}
    firsts: dict[str, list[Facts]] = defaultdict(list)

    def row(name: str) -> AgentRow:
        return rows.setdefault(name, AgentRow(name))

    for f in items:
        for name in f.assigned_to:
            row(name).assigned += 1
        for name in f.replies_by:
            row(name).replies += 1
        for name in f.resolved_by:
            row(name).resolved += 1
        if f.first_reply_at is not None and f.replies_by:
            firsts[f.replies_by[0]].append(f)
    for name, mine in firsts.items():
        r = row(name)
        r.first_responses = len(mine)
        r.frt = Stats.of(_values(f.frt for f in mine))
        r.frt_business = Stats.of(_values(f.frt_business for f in mine))
    for f_agent, scores in _scores_by_agent(items).items():
        if f_agent in rows:
            rows[f_agent].csat_average = _average(scores)
    return sorted(rows.values(), key=lambda r: r.agent)


def _scores_by_agent(items: Sequence[Facts]) -> dict[str, list[int]]:
    """A rating is credited to the agent who resolved the conversation (the last
    resolution, after a reopen); resolved by the bot or the system: the agent it is filed
    under (first to answer, else the assignee)."""
    out: dict[str, list[int]] = defaultdict(list)
    for f in items:
        if f.csat is not None:
            out[f.resolved_by[-1] if f.resolved_by else f.agent].append(f.csat)
    return out


def csat(items: Sequence[Facts]) -> Csat:
    c = Csat()
    scores = [f.csat for f in items if f.csat is not None]
    for s in scores:
        if s in c.distribution:
            c.distribution[s] += 1
    c.responses, c.average = len(scores), _average(scores)
    c.surveyed = sum(f.surveyed for f in items)
    c.comments = sum(f.csat_comment for f in items)
    return c


def heatmap(items: Sequence[Facts], tz: ZoneInfo) -> list[list[int]]:
    grid = [[0] * 24 for _ in range(7)]
    for f in items:
        local = f.opened_at.astimezone(tz)
        grid[local.weekday()][local.hour] += 1
    return grid


def compute(items: Sequence[Facts], *, start: datetime, end: datetime, now: datetime,
            tz: ZoneInfo, sla_targets: Mapping[str, Sequence[str]]) -> Report:
    reasons = Counter(f.handoff_reason for f in items if f.handoff_reason)
    return Report(
        start=start, end=end, generated_at=now, timezone=tz.key, totals=group("all", items),
        by={d: breakdown(items, d) for d in DIMENSIONS},
        handoff_reasons=dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        sla=sla_rows(items, sla_targets), csat=csat(items), agents=agent_rows(items),
        heatmap=heatmap(items, tz))


def period(days: int, now: datetime) -> tuple[datetime, datetime]:
    """The last `days` whole days up to `now` (UTC midnight to UTC midnight, today included)."""
    end = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return end - timedelta(days=days), end
