"""Reading the audit log: one filter and one JSON shape for the API, the console and the CLI."""

from __future__ import annotations

from typing import Any

from router.engine.audit import ACTIONS
from router.store.base import AuditFilter, AuditRecord, ts
from router.web.reports.load import parse_day_or_time

MAX_PAGE = 500


def build_filter(*, actions: str = "", actor: str = "", start: str = "", end: str = "",
                 before_id: int | None = None) -> AuditFilter:
    """From the text an admin typed; ValueError (naming the field) when it is not valid.

    `actions` is comma-separated; `actor` is `agent:NAME`, `cli:USER`, `config`, `system`,
    or a bare agent name; `start`/`end` are days (YYYY-MM-DD, `end` included) or ISO times.
    """
    wanted = tuple(a.strip() for a in actions.split(",") if a.strip())
    unknown = [a for a in wanted if a not in ACTIONS]
    if unknown:
        raise ValueError(f"action: unknown {', '.join(unknown)} (known: {', '.join(ACTIONS)})")
    actor = actor.strip()
    actors = (actor, f"agent:{actor}") if actor and ":" not in actor and \
        actor not in ("config", "system") else ((actor,) if actor else ())
    try:
        since = parse_day_or_time(start) if start else None
        until = parse_day_or_time(end, end=True) if end else None
    except ValueError as exc:
        raise ValueError(f"start/end: {exc}") from None
    if since is not None and until is not None and until <= since:
        raise ValueError("end: must be after start")
    return AuditFilter(actions=wanted, actors=actors, since=since, until=until,
                       before_id=before_id)


def as_dict(r: AuditRecord) -> dict[str, Any]:
    return {"id": r.id, "at": ts(r.at), "actor": r.actor, "action": r.action,
            "object": r.object, "source": r.source, "detail": r.detail}
