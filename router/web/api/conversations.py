"""Conversation endpoints: list, get, and the agents' actions."""

from __future__ import annotations

from datetime import UTC
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, Field

from router.domain.agent_errors import ActionRejected
from router.domain.model import Agent
from router.engine.agents import actions
from router.store.base import ConversationFilter, Tx, urgency_key
from router.web.api import assist, files
from router.web.api import serialize as js
from router.web.api.models import IsoTime, JsonBody, Query
from router.web.api.routing import DESK, Route, path_int


class ListQuery(Query):
    status: str = Field("", description="comma-separated: bot, queued, assigned, resolved")
    queue: str = Field("", description="comma-separated queue names")
    assignee: str = Field("", description="an agent name, 'me', or 'none'")
    priority: str = ""
    tag: str = ""
    contact_id: int | None = None
    snoozed: bool = Field(True, description="include snoozed conversations")
    order: Literal["newest", "urgency"] = "newest"
    limit: int = Field(50, ge=1, le=200)
    cursor: str = ""


class TextBody(JsonBody):
    text: str = Field(min_length=1, max_length=64_000)


class TransferBody(JsonBody):
    queue: str = ""
    agent: str = ""
    note: str = Field("", max_length=64_000)


class SnoozeBody(JsonBody):
    until: IsoTime


class UpdateBody(JsonBody):
    priority: Literal["low", "normal", "high", "urgent"] | None = None
    add_tags: list[str] = []
    remove_tags: list[str] = []


def _filter(q: ListQuery, me: Agent) -> ConversationFilter:
    split = lambda v: tuple(x for x in v.split(",") if x)  # noqa: E731
    assignee = {"": None, "me": me.name, "none": ""}.get(q.assignee, q.assignee)
    try:
        after = js.decode_cursor(q.cursor) if q.cursor else None
    except ValueError:
        raise ActionRejected("query.cursor: not a cursor this API returned") from None
    return ConversationFilter(
        statuses=split(q.status), queues=split(q.queue), assignee=assignee, priority=q.priority,
        tag=q.tag, contact_id=q.contact_id, include_snoozed=q.snoozed, order=q.order, after=after)


async def list_conversations(request: web.Request, agent: Agent, query: ListQuery) -> dict[str, Any]:
    flt = _filter(query, agent)
    rows = await request.app[DESK].store.read(
        lambda tx: tx.list_conversations(flt, query.limit + 1))
    more, rows = len(rows) > query.limit, rows[:query.limit]
    cursor = None
    if more and rows:
        last = rows[-1]
        cursor = js.encode_cursor(urgency_key(last) if query.order == "urgency" else (last.id,))
    return {"items": [js.conversation(c) for c in rows], "next_cursor": cursor}


async def get_conversation(request: web.Request, agent: Agent) -> dict[str, Any]:
    cid = path_int(request)

    async def q(tx: Tx) -> dict[str, Any]:
        conv = await actions.load(tx, cid)
        out = js.conversation(conv)
        out["messages"] = [js.message(m) for m in await tx.list_messages(cid)]
        out["events"] = [js.event(e) for e in await tx.list_events(cid, limit=1000)]
        return out

    return await request.app[DESK].store.read(q)


def _action(fn: Any, **fixed: Any) -> Any:
    async def handler(request: web.Request, agent: Agent, body: Any = None) -> dict[str, Any]:
        kwargs = dict(fixed)
        if body is not None:
            kwargs.update(_kwargs(body))
        result, conv = await request.app[DESK].run(path_int(request), fn, agent, **kwargs)
        out = js.conversation(conv)
        if isinstance(result, int):
            out["message_id"] = result
        return out

    handler.__name__ = fn.__name__
    return handler


def _kwargs(body: BaseModel) -> dict[str, Any]:
    if isinstance(body, TransferBody):
        return {"queue": body.queue, "agent": body.agent, "note_text": body.note}
    if isinstance(body, SnoozeBody):
        until = body.until if body.until.tzinfo else body.until.replace(tzinfo=UTC)
        return {"until": until}
    return body.model_dump()


def routes() -> list[Route]:
    t = "conversations"
    one = "/conversations/{id}"
    return [
        Route("GET", "/conversations", list_conversations, "List conversations (filters, cursor)",
              t, query=ListQuery, response="ConversationPage"),
        Route("GET", one, get_conversation, "A conversation with its messages and events", t,
              response="ConversationDetail"),
        Route("PATCH", one, _action(actions.update), "Change priority or tags", t,
              body=UpdateBody, response="Conversation"),
        Route("POST", one + "/claim", _action(actions.claim), "Claim a waiting conversation, "
              "or take one over from the bot (event agent_took_over; the customer is told "
              "the agent joined); 409 if someone else got it first or at capacity", t,
              response="Conversation"),
        files.reply_route(),  # issue 24: with files, and `if_assignee` (router/web/api/files.py)
        Route("POST", one + "/note", _action(actions.note), "Add an internal note", t,
              body=TextBody, response="Conversation"),
        Route("POST", one + "/transfer", _action(actions.transfer), "Transfer to a queue or an "
              "agent, with an optional note (a bot-held one leaves the bot's hands)", t,
              body=TransferBody, response="Conversation"),
        # console (issue 7): resolve runs the rules' `resolved` event too (thanks, CSAT)
        Route("POST", one + "/resolve", assist.resolve, "Resolve (then the rules and bots "
              "with event `resolved`: thank-you reply, CSAT survey)", t, response="Conversation"),
        Route("POST", one + "/reopen", _action(actions.reopen), "Reopen a resolved conversation",
              t, response="Conversation"),
        Route("POST", one + "/snooze", _action(actions.snooze), "Hide until a time (a customer "
              "message wakes it earlier)", t, body=SnoozeBody, response="Conversation"),
    ]
