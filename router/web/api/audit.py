"""`GET /audit`: the audit log for admins, newest first, a page at a time (issue 29)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import Field

from router.domain.agent_errors import ActionRejected
from router.domain.model import Agent
from router.engine.audit.query import MAX_PAGE, as_dict, build_filter
from router.web.api import bounds
from router.web.api import serialize as js
from router.web.api.models import Query
from router.web.api.routing import DESK, Route


class AuditQuery(Query):
    action: str = Field("", description="comma-separated actions, e.g. signin_failed,"
                        "contact_erased (the AuditRecord schema lists them)")
    actor: str = Field("", description="agent:NAME (or just NAME), cli:USER, config or system")
    start: str = Field("", description="from this day (YYYY-MM-DD) or ISO time")
    end: str = Field("", description="to this day, included (YYYY-MM-DD), or ISO time (excluded)")
    limit: int = Field(100, ge=1, le=MAX_PAGE)
    cursor: str = Field("", description="next_cursor of the previous page")


async def list_audit(request: web.Request, agent: Agent, query: AuditQuery) -> dict[str, Any]:
    try:
        before = int(js.decode_cursor(query.cursor)[0]) if query.cursor else None
    except (ValueError, TypeError):
        raise ActionRejected("query.cursor: not a cursor this API returned") from None
    try:
        flt = build_filter(actions=query.action, actor=query.actor, start=query.start,
                           end=query.end, before_id=before)
    except ValueError as exc:
        raise ActionRejected(f"query.{exc}") from None
    problem = bounds.problem([flt.since, flt.until, flt.before_id])
    if problem:
        raise ActionRejected(f"query.start/end/cursor: {problem}")
    found = await request.app[DESK].store.read(lambda tx: tx.audit_list(flt, query.limit + 1))
    more, page = len(found) > query.limit, found[:query.limit]
    cursor = js.encode_cursor((page[-1].id,)) if more and page else None
    return {"items": [as_dict(r) for r in page], "next_cursor": cursor}


def routes() -> list[Route]:
    return [Route("GET", "/audit", list_audit, "The audit log, newest first: sign-ins, agent "
                  "and role changes, tokens, reloads, exports, erasures, merges, report "
                  "downloads", "audit", admin=True, query=AuditQuery, response="AuditPage")]
