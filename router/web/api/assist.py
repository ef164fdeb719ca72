"""What an agent needs while writing, beside the desk's actions (issue 7, the console).

- canned replies rendered in the conversation's language (`RuleSet.render_reply`), so
  the agent inserts text the customer can read and edits it before sending;
- the typing signal for web chat visitors ("Anna is typing…");
- resolve followed by the rules with event `resolved` in the *same* unit of work, so the
  rules' and bots' effects of a resolve (thank-you reply, CSAT survey) are written with
  the resolve itself and a crash cannot lose them.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from pydantic import Field

from router.domain.agent_errors import NotFoundError
from router.domain.model import (
    Agent,
    DecisionContext,
    Status,
)
from router.engine.agents import actions
from router.engine.agents.authz import Act, authorize
from router.engine.agents.followups import context_for
from router.engine.pipeline import Decide
from router.store.base import Tx
from router.web.api import serialize as js
from router.web.api.hooks import RULES, SIGNAL
from router.web.api.models import JsonBody, Query
from router.web.api.routing import DESK, Route, path_int

log = logging.getLogger(__name__)
PLAIN = "loopback"  # render without channel markup: the text goes into a text box


class RepliesQuery(Query):
    conversation_id: int | None = Field(
        None, description="render each reply in this conversation's language and context")
    q: str = Field("", max_length=200, description="only ids or texts containing this "
                                                  "(case-insensitive)")


class RenderBody(JsonBody):
    reply_id: str = Field(min_length=1, max_length=200)


def _decide(request: web.Request) -> Decide | None:
    current = request.app.get(RULES)
    return current() if current is not None else None


def _ruleset(request: web.Request) -> Any:
    return getattr(_decide(request), "ruleset", None)


async def list_replies(request: web.Request, agent: Agent, query: RepliesQuery) -> dict[str, Any]:
    ruleset, desk = _ruleset(request), request.app[DESK]
    if ruleset is None:
        return {"items": []}
    ctx: DecisionContext | None = None
    if query.conversation_id is not None:
        cid = query.conversation_id

        async def q(tx: Tx) -> DecisionContext:
            return (await context_for(tx, await actions.load(tx, cid), desk.clock()))[0]

        ctx = await desk.store.read(q)
    items = []
    needle = query.q.casefold()
    for reply_id in ruleset.reply_ids:
        item: dict[str, Any] = {"id": reply_id, "text": "", "language": ""}
        if ctx is not None:
            try:
                content = ruleset.render_reply(reply_id, language=ctx.conversation.language,
                                               channel=PLAIN, ctx=ctx)
                item.update(text=content.text, language=content.language)
            except Exception:  # one broken template must not hide the others
                log.exception("canned reply %r does not render", reply_id)
        if needle in reply_id.casefold() or needle in item["text"].casefold():
            items.append(item)
    return {"items": items}


async def render_reply(request: web.Request, agent: Agent, body: RenderBody) -> dict[str, Any]:
    ruleset, desk, cid = _ruleset(request), request.app[DESK], path_int(request)
    if ruleset is None or body.reply_id not in ruleset.reply_ids:
        raise NotFoundError(f"no canned reply '{body.reply_id}'; GET /replies lists them")

    async def q(tx: Tx) -> DecisionContext:
        return (await context_for(tx, await actions.load(tx, cid), desk.clock()))[0]

    ctx = await desk.store.read(q)
    content = ruleset.render_reply(body.reply_id, language=ctx.conversation.language,
                                   channel=PLAIN, ctx=ctx)
    return {"reply_id": body.reply_id, "language": content.language, "text": content.text}


async def typing(request: web.Request, agent: Agent) -> dict[str, Any]:
    """Tell the customer an agent is typing (web chat only; other channels ignore it)."""
    desk, cid = request.app[DESK], path_int(request)
    conv = await desk.store.read(lambda tx: actions.load(tx, cid))
    authorize(agent, Act.CONVERSATION, conv)
    signal = request.app.get(SIGNAL)
    delivered = 0
    if signal is not None and conv.status != Status.RESOLVED:
        delivered = await signal(conv, "agent_typing", agent.display_name or agent.name)
    return {"delivered": delivered}


async def resolve(request: web.Request, agent: Agent) -> dict[str, Any]:
    _, conv = await request.app[DESK].resolve(path_int(request), agent)
    return js.conversation(conv)


def routes() -> list[Route]:
    one = "/conversations/{id}"
    return [
        Route("GET", "/replies", list_replies, "Canned replies, rendered for a conversation "
              "when `conversation_id` is given", "replies", query=RepliesQuery,
              response="ReplyList"),
        Route("POST", one + "/render-reply", render_reply, "Render a canned reply in the "
              "conversation's language (plain text, to edit before sending)", "replies",
              body=RenderBody, response="RenderedReply"),
        Route("POST", one + "/typing", typing, "Show the customer that an agent is typing "
              "(web chat; a no-op elsewhere)", "conversations", response="Object"),
    ]
