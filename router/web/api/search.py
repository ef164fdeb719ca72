"""Search, views and the console's list rows (issue 24).

- `GET /search`: one box over conversations, contacts and message text, with filters; a
  built-in or saved view is a search too (`?view=unassigned`, `?view=saved:3`). Items
  are list rows: the conversation, its contact, a preview of the last message, how long
  the customer has waited, and what matched (an excerpt with the matched words).
- `GET /views`: the built-in views, open conversations by tag, and the agent's saved
  views, each with its count (the console asks again on every relevant live event).
- `POST /views`, `DELETE /views/{id}`: saved views, per agent.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from router.domain.agent_errors import ActionRejected, ConflictError, NotFoundError
from router.domain.model import Agent, Conversation, Status
from router.store.base import Tx, urgency_key
from router.store.sql_search import RowInfo, SavedView, SearchHit, SearchQuery, SqlSearch
from router.web.api import serialize as js
from router.web.api.models import JsonBody, Query
from router.web.api.routing import DESK, Route, path_int
from router.web.api.search_query import BUILTIN, OPEN, UNCOUNTED, apply_filters, snippet, view_query, with_box

COUNT_CAP = 1000  # counts stop here ("1000+")
FILTERS = ("status", "queue", "assignee", "tag", "channel", "language", "since", "until")


class Filters(JsonBody):
    """A saved view: the box's text and the filters, as `GET /search` takes them."""

    q: str = Field("", max_length=500)
    status: str = Field("", max_length=200)
    queue: str = Field("", max_length=500)
    assignee: str = Field("", max_length=100)
    tag: str = Field("", max_length=500)
    channel: str = Field("", max_length=200)
    language: str = Field("", max_length=100)
    since: str = Field("", max_length=40)
    until: str = Field("", max_length=40)


class SearchParams(Query):
    q: str = Field("", max_length=500, description="words (each a prefix; all in one message "
                   "or one contact) and operators: status: queue: assignee: tag: channel: "
                   "lang: since: until: is: #ID")
    view: str = Field("", max_length=120, description="open, unassigned, mine, mentions, "
                      "snoozed, resolved, bot, tag:NAME or saved:ID")
    status: str = Field("", max_length=200, description="comma-separated statuses")
    queue: str = Field("", max_length=500, description="comma-separated queue names")
    assignee: str = Field("", max_length=100, description="an agent name, 'me' or 'none'")
    tag: str = Field("", max_length=500, description="comma-separated: all of these tags")
    channel: str = Field("", max_length=200, description="comma-separated channels")
    language: str = Field("", max_length=100, description="comma-separated language codes")
    since: str = Field("", max_length=40, description="active since (date or date-time)")
    until: str = Field("", max_length=40, description="opened before the end of (date) or "
                       "before (date-time)")
    contact_id: int | None = Field(None, ge=1)
    order: Literal["recent", "urgency"] | None = Field(None, description="recent activity "
                                                       "first (default), or the queue order")
    limit: int = Field(50, ge=1, le=100)
    cursor: str = ""


class ViewBody(JsonBody):
    name: str = Field(min_length=1, max_length=60)
    filters: Filters = Filters()


def _sx(tx: Tx) -> SqlSearch:
    assert isinstance(tx, SqlSearch)  # every SQL backend's Tx (router/store/sql_tx.py)
    return tx


async def _query(tx: Tx, params: SearchParams, agent: Agent) -> SearchQuery:
    """The SearchQuery of a request: the view's, then the box, then the parameters."""
    view, q = params.view, params.q
    if view.startswith("saved:"):
        saved = await _saved(tx, agent, view[6:])
        base = apply_filters(SearchQuery(), saved.filters, agent.name, "query.view")
        q = " ".join(filter(None, (str(saved.filters.get("q") or ""), q)))
    else:
        base = view_query(view, agent.name) if view else SearchQuery()
    query = with_box(base, q, agent.name)
    query = apply_filters(query, {k: getattr(params, k) for k in FILTERS}, agent.name, "query")
    changes: dict[str, Any] = {}
    if params.contact_id is not None:
        changes["contact_id"] = params.contact_id
    if params.order is not None:
        changes["order"] = params.order
    if params.cursor:
        try:
            changes["after"] = js.decode_cursor(params.cursor)
        except ValueError:
            raise ActionRejected("query.cursor: not a cursor this API returned") from None
    return replace(query, **changes)


async def _saved(tx: Tx, agent: Agent, raw_id: str) -> SavedView:
    if not raw_id.isdigit():
        raise ActionRejected("query.view: saved views are saved:ID")
    for saved in await _sx(tx).list_saved_views(agent.id):
        if saved.id == int(raw_id):
            return saved
    raise NotFoundError(f"saved view {raw_id} not found (views are per agent)")


def waiting_since(c: Conversation) -> datetime | None:
    """Since when the customer waits for a person: no person answered yet (since it was
    queued), or the customer wrote after the last agent reply."""
    if c.status not in (Status.QUEUED, Status.ASSIGNED):
        return None
    if c.last_agent_at is None:
        return c.queued_at or c.created_at
    if c.last_customer_at is not None and c.last_customer_at > c.last_agent_at:
        return c.last_customer_at
    return None


def row(hit: SearchHit, info: RowInfo | None, terms: tuple[str, ...]) -> dict[str, Any]:
    c = hit.conversation
    out = js.conversation(c)
    contact = info.contact if info else None
    out["contact"] = {"id": c.contact_id, "display_name": contact.display_name if contact else "",
                      "email": contact.email if contact else ""}
    out["preview"] = {"text": info.last_text, "author_kind": info.last_author,
                      "created_at": js.iso(info.last_at)} if info and info.last_author else None
    out["waiting_since"] = js.iso(waiting_since(c))
    match: dict[str, Any] | None = None
    if hit.message_id is not None and info is not None and info.matched_text:
        match = {"kind": "message", "message_id": hit.message_id,
                 "snippet": snippet(info.matched_text, terms)}
    elif hit.by_contact:
        match = {"kind": "contact", "message_id": None, "snippet": None}
    out["match"] = match
    return out


async def search(request: web.Request, agent: Agent, query: SearchParams) -> dict[str, Any]:
    async def read(tx: Tx) -> dict[str, Any]:
        sx = _sx(tx)
        q = await _query(tx, query, agent)
        hits, total = await sx.search_page(q, query.limit + 1, total=not query.cursor)
        more, hits = len(hits) > query.limit, hits[:query.limit]
        info = await sx.conversation_rows([(h.conversation.id, h.message_id) for h in hits])
        out: dict[str, Any] = {"items": [row(h, info.get(h.conversation.id), q.terms)
                                         for h in hits]}
        last = hits[-1].conversation if more and hits else None
        out["next_cursor"] = js.encode_cursor(
            urgency_key(last) if q.order == "urgency" else (js.iso(last.updated_at), last.id)
        ) if last else None
        if not query.cursor:
            out["total"] = total
            people = await sx.search_contacts(q.terms, q.phone) if q.terms or q.phone else []
            out["contacts"] = [{"id": p.id, "display_name": p.display_name, "email": p.email,
                                "phone": p.phone} for p in people]
        return out

    return await request.app[DESK].store.read(read)


async def list_views(request: web.Request, agent: Agent) -> dict[str, Any]:
    async def read(tx: Tx) -> dict[str, Any]:
        sx = _sx(tx)
        items: list[dict[str, Any]] = []
        for view_id, (name, _) in BUILTIN.items():
            count = None if view_id in UNCOUNTED else await sx.count_conversations_matching(
                view_query(view_id, agent.name), COUNT_CAP)
            items.append({"id": view_id, "name": name, "kind": "builtin", "count": count})
        for tag, count in await sx.open_tags():
            items.append({"id": f"tag:{tag}", "name": tag, "kind": "tag", "count": count})
        for saved in await sx.list_saved_views(agent.id):
            items.append(await _saved_item(tx, agent, saved))
        return {"items": items}

    return await request.app[DESK].store.read(read)


async def _saved_item(tx: Tx, agent: Agent, saved: SavedView) -> dict[str, Any]:
    query = with_box(apply_filters(SearchQuery(), saved.filters, agent.name, "view.filters"),
                     str(saved.filters.get("q") or ""), agent.name)
    return {"id": f"saved:{saved.id}", "name": saved.name, "kind": "saved",
            "filters": saved.filters,
            "count": await _sx(tx).count_conversations_matching(query, COUNT_CAP)}


async def save_view(request: web.Request, agent: Agent, body: ViewBody) -> dict[str, Any]:
    desk = request.app[DESK]
    filters = {k: v for k, v in body.filters.model_dump().items() if v}
    # refused now rather than every time the view is read
    with_box(apply_filters(SearchQuery(statuses=OPEN), filters, agent.name, "body.filters"),
             str(filters.get("q") or ""), agent.name)

    async def unit(tx: Tx) -> dict[str, Any]:
        made = await _sx(tx).save_view(agent.id, body.name.strip(), filters, desk.clock())
        if made is None:
            raise ConflictError(f"you have a view named {body.name.strip()!r} already")
        return await _saved_item(tx, agent, SavedView(made, agent.id, body.name.strip(), filters))

    return await desk.store.write(unit)


async def delete_view(request: web.Request, agent: Agent) -> dict[str, Any]:
    view_id = path_int(request)
    if not await request.app[DESK].store.write(
            lambda tx: _sx(tx).delete_saved_view(agent.id, view_id)):
        raise NotFoundError(f"saved view {view_id} not found (views are per agent)")
    return {"id": f"saved:{view_id}", "deleted": True}


def routes() -> list[Route]:
    t = "search"
    return [
        Route("GET", "/search", search, "Search conversations, contacts and message text, "
              "with filters; a view's list (?view=); items are the console's list rows", t,
              query=SearchParams, response="SearchPage"),
        Route("GET", "/views", list_views, "Built-in views, open conversations by tag and "
              "your saved views, with live counts", t, response="ViewList"),
        Route("POST", "/views", save_view, "Save a search as a view (yours only); 409 if you "
              "have one of that name", t, body=ViewBody, response="View", status=201),
        Route("DELETE", "/views/{id}", delete_view, "Delete one of your saved views", t,
              response="Object"),
    ]
