"""Read a period's conversations and events through the store, batch by batch.

Each batch is one read (a consistent snapshot per batch, not per report: a report over a
year must not pin the reader for its whole duration). `progress(done, total)` is called
after every batch, for the CLI's progress indicator.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from router.config import Config
from router.domain.model import Conversation, Event
from router.engine.agents.policy import DeskPolicy
from router.engine.agents.sla import ALWAYS_OPEN, BusinessCalendar
from router.store.base import Store, Tx, utcnow
from router.web.reports.compute import Report, compute
from router.web.reports.facts import Facts, facts

BATCH = 500
Progress = Callable[[int, int], None]


Options = tuple[BusinessCalendar, ZoneInfo, dict[str, list[str]]]


def policy_options(policy: DeskPolicy) -> Options:
    """The business calendar, the report timezone (the calendar's, else UTC) and each
    queue's configured SLA clocks."""
    tz = getattr(policy.calendar, "tz", None)
    targets = {name: [k for k in ("first_response", "resolution") if getattr(q.sla, k)]
               for name, q in policy.queues.items()}
    return policy.calendar, tz if isinstance(tz, ZoneInfo) else ZoneInfo("UTC"), targets


def config_options(config: Config) -> Options:
    from router.engine.agents.policy import build_policy

    return policy_options(build_policy(config))


async def load_facts(store: Store, start: datetime, end: datetime, *,
                     calendar: BusinessCalendar = ALWAYS_OPEN, batch: int = BATCH,
                     progress: Progress | None = None) -> list[Facts]:
    total = await store.read(lambda tx: tx.count_conversations(start, end))
    out: list[Facts] = []
    after = 0
    while True:
        async def q(tx: Tx, after: int = after) -> tuple[list[Conversation], list[Event]]:
            convs = await tx.report_conversations(start, end, after_id=after, limit=batch)
            return convs, await tx.events_for_conversations([c.id for c in convs])

        convs, events = await store.read(q)
        if not convs:
            break
        by_conv: dict[int, list[Event]] = defaultdict(list)
        for e in events:
            by_conv[e.conversation_id or 0].append(e)
        out.extend(facts(c, by_conv[c.id], calendar) for c in convs)
        after = convs[-1].id
        if progress is not None:
            progress(len(out), total)
    return out


async def build_report(store: Store, start: datetime, end: datetime, *,
                       calendar: BusinessCalendar = ALWAYS_OPEN, tz: ZoneInfo | None = None,
                       sla_targets: Mapping[str, Sequence[str]] | None = None,
                       now: datetime | None = None, batch: int = BATCH,
                       progress: Progress | None = None) -> Report:
    items = await load_facts(store, start, end, calendar=calendar, batch=batch,
                             progress=progress)
    return compute(items, start=start, end=end, now=now or utcnow(),
                   tz=tz or ZoneInfo("UTC"), sla_targets=sla_targets or {})


async def report_for(config: Config, store: Store, start: datetime, end: datetime, *,
                     now: datetime | None = None, progress: Progress | None = None) -> Report:
    calendar, tz, targets = config_options(config)
    return await build_report(store, start, end, calendar=calendar, tz=tz, sla_targets=targets,
                              now=now, progress=progress)


def parse_day_or_time(value: str, *, end: bool = False) -> datetime:
    """`2026-03-01` (a day: its start, or for `end` the next day's start) or an ISO time."""
    from datetime import timedelta

    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if end and len(value) == 10:
        parsed += timedelta(days=1)
    return parsed
