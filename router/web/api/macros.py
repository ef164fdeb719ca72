"""Macro endpoints (issue 24): keep macros, render one for a conversation, apply one; and
the triage beside them: wake a snoozed conversation, set the follow-up date.

Macros are templates in the rules' Jinja2 sandbox, which the service plugs in as
`TEMPLATES` (router/web/api/hooks.py); see router/engine/agents/macros.py for what they may name.
"""

from __future__ import annotations

import re
from datetime import UTC
from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from router.domain.agent_errors import ActionRejected
from router.domain.model import Agent
from router.engine.agents import macros, triage
from router.engine.agents.actions import load
from router.store.base import Macro, Tx
from router.web.api import files
from router.web.api import serialize as js
from router.web.api.hooks import RULES, TEMPLATES
from router.web.api.models import IsoTime, JsonBody
from router.web.api.routing import DESK, Route, path_int

TAG = r"^[^\s,][^,]{0,63}$"
Priority = Literal["low", "normal", "high", "urgent", ""]


class MacroBody(JsonBody):
    name: str = Field(min_length=1, max_length=100)
    texts: dict[str, str] = Field(min_length=1, max_length=20, description=(
        "the text per language code ({\"sv\": \"Hej {{ contact.first_name }}!\", \"en\": ...}); "
        "templates get contact, conversation, queue, business_hours, message, language and "
        "agent (the agent who sends it)"))
    shared: bool = Field(False, description="every agent sees it (admins only); else yours only")
    add_tags: list[str] = Field([], max_length=20, description="tags it also adds")
    priority: Priority = Field("", description="the priority it also sets ('' leaves it)")
    resolve: bool = Field(False, description="it also resolves the conversation")


class MacroChange(JsonBody):
    """Fields left out stay as they are."""

    name: str | None = Field(None, min_length=1, max_length=100)
    texts: dict[str, str] | None = Field(None, min_length=1, max_length=20)
    shared: bool | None = None
    add_tags: list[str] | None = Field(None, max_length=20)
    priority: Priority | None = None
    resolve: bool | None = None


class UseMacroBody(JsonBody):
    macro_id: int
    text: str | None = Field(None, max_length=64_000, description=(
        "apply: the reply as the agent edited it (left out: the macro rendered now)"))


class ApplyMacroBody(UseMacroBody):
    """What a reply carries beside its text (router/web/api/files.py), for the macro's reply."""

    attachments: list[files.FileRef] = Field([], max_length=files.MAX_FILES)
    if_assignee: str | None = Field(None, max_length=200, description=(
        "send only while the conversation is held by this agent ('' = nobody): 409 when a "
        "colleague took it meanwhile"))


class FollowUpBody(JsonBody):
    at: IsoTime | None = Field(description="when to follow up by; null clears it")


def _templates(request: web.Request) -> macros.Templates:
    found = request.app.get(TEMPLATES)
    if found is None:
        raise ActionRejected("macros need the rules package (its template sandbox)")
    return found


def _check(texts: dict[str, str] | None, tags: list[str] | None) -> None:
    for lang, text in (texts or {}).items():
        if len(text) > 10_000 or len(lang) > 20:
            raise ActionRejected(f"body.texts.{lang[:20]}: at most 10000 characters per text")
    for tag in tags or []:
        if not re.match(TAG, tag):
            raise ActionRejected(f"body.add_tags: '{tag[:64]}' is not a tag (1-64 characters, "
                                 "no comma, no leading space)")


def macro_json(m: Macro) -> dict[str, Any]:
    return {"id": m.id, "name": m.name, "shared": not m.owner, "owner": m.owner,
            "texts": m.texts, "add_tags": list(m.actions.get("add_tags", [])),
            "priority": m.actions.get("priority", ""),
            "resolve": bool(m.actions.get("resolve", False)), "created_by": m.created_by,
            "created_at": js.iso(m.created_at), "updated_at": js.iso(m.updated_at)}


async def list_macros(request: web.Request, agent: Agent) -> dict[str, Any]:
    found = await request.app[DESK].store.read(lambda tx: tx.macro_list(agent.name))
    return {"items": [macro_json(m) for m in found]}


async def get_macro(request: web.Request, agent: Agent) -> dict[str, Any]:
    mid = path_int(request)
    return macro_json(await request.app[DESK].store.read(
        lambda tx: macros.visible(tx, mid, agent)))


async def create_macro(request: web.Request, agent: Agent, body: MacroBody) -> dict[str, Any]:
    _check(body.texts, body.add_tags)
    desk, templates = request.app[DESK], _templates(request)
    spec = macros.MacroInput(body.name.strip(), body.texts, body.shared, body.add_tags,
                             body.priority, body.resolve)
    made = await desk.write(lambda tx: macros.create(
        tx, templates, spec, agent, desk.clock(), address=request.remote or ""))
    return macro_json(made)


async def change_macro(request: web.Request, agent: Agent, body: MacroChange) -> dict[str, Any]:
    _check(body.texts, body.add_tags)
    desk, templates, mid = request.app[DESK], _templates(request), path_int(request)
    name = body.name.strip() if body.name is not None else None
    spec = macros.MacroInput(name, body.texts, body.shared, body.add_tags, body.priority,
                             body.resolve)
    changed = await desk.write(lambda tx: macros.change(
        tx, templates, mid, spec, agent, desk.clock(), address=request.remote or ""))
    return macro_json(changed)


async def delete_macro(request: web.Request, agent: Agent) -> dict[str, Any]:
    desk, mid = request.app[DESK], path_int(request)
    await desk.write(lambda tx: macros.delete(tx, mid, agent, desk.clock(),
                                              address=request.remote or ""))
    return {"id": mid, "deleted": True}


async def render_macro(request: web.Request, agent: Agent, body: UseMacroBody) -> dict[str, Any]:
    desk, templates, cid = request.app[DESK], _templates(request), path_int(request)

    async def q(tx: Tx) -> dict[str, Any]:
        conv, macro = await load(tx, cid), await macros.visible(tx, body.macro_id, agent)
        lang, text = await macros.render(tx, templates, desk.policy, macro, conv, agent,
                                         desk.clock())
        return {"macro_id": macro.id, "language": lang, "text": text,
                "add_tags": list(macro.actions.get("add_tags", [])),
                "priority": macro.actions.get("priority", ""),
                "resolve": bool(macro.actions.get("resolve", False))}

    return await desk.store.read(q)


async def apply_macro(request: web.Request, agent: Agent, body: ApplyMacroBody
                      ) -> dict[str, Any]:
    desk, templates, cid = request.app[DESK], _templates(request), path_int(request)
    current = request.app.get(RULES)
    reply: dict[str, Any] = {"if_assignee": body.if_assignee}
    if body.attachments:  # the same files a reply takes, checked the same way
        conv = await desk.store.read(lambda tx: load(tx, cid))
        if conv.channel.split(":", 1)[0] not in files.FILE_CHANNELS:
            raise ActionRejected(f"replies on {conv.channel} cannot carry files")
        keep = files.keeper(request)
        kept = [keep.describe(ref.id, ref.name) for ref in body.attachments]
        if any(k is None for k in kept):
            raise ActionRejected("body.attachments: an upload is missing; upload the file "
                                 "with POST /uploads first")
        reply["attachments"] = [k.attachment() for k in kept if k is not None]
        reply["outgoing"] = [files.outgoing(k, keep.data_dir) for k in kept if k is not None]
    action = macros.applying(templates, body.macro_id, body.text,
                             current() if current is not None else None, reply)
    message_id, conv = await desk.run(cid, action, agent)
    return js.conversation(conv) | {"message_id": message_id}


async def unsnooze(request: web.Request, agent: Agent) -> dict[str, Any]:
    _, conv = await request.app[DESK].run(path_int(request), triage.unsnooze, agent)
    return js.conversation(conv)


async def follow_up(request: web.Request, agent: Agent, body: FollowUpBody) -> dict[str, Any]:
    at = body.at
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    _, conv = await request.app[DESK].run(path_int(request), triage.follow_up, agent, at=at)
    return js.conversation(conv)


def routes() -> list[Route]:
    t, one, conv = "macros", "/macros/{id}", "/conversations/{id}"
    return [
        Route("GET", "/macros", list_macros, "The shared macros and your own, by name", t,
              response="MacroList"),
        Route("POST", "/macros", create_macro, "Create a macro (shared ones: admins only); "
              "every text is checked as a template first", t, body=MacroBody,
              response="Macro", status=201),
        Route("GET", one, get_macro, "A macro (shared, or yours)", t, response="Macro"),
        Route("PATCH", one, change_macro, "Change a macro (shared ones: admins only)", t,
              body=MacroChange, response="Macro"),
        Route("DELETE", one, delete_macro, "Delete a macro (shared ones: admins only)", t,
              response="Object"),
        Route("POST", conv + "/render-macro", render_macro, "Render a macro for this "
              "conversation, in its language (plain text to edit; changes nothing)", t,
              body=UseMacroBody, response="RenderedMacro"),
        Route("POST", conv + "/apply-macro", apply_macro, "Apply a macro: its reply (`text` "
              "if given, else rendered now), then its tags and priority, then resolve if it "
              "says so; one change, event macro_applied. Files and `if_assignee` as for a "
              "reply", t, body=ApplyMacroBody,
              response="Conversation"),
        Route("POST", conv + "/unsnooze", unsnooze, "Show a snoozed conversation again now",
              "conversations", response="Conversation"),
        Route("PUT", conv + "/follow-up", follow_up, "Set or clear (null) the date to follow "
              "up by; it hides nothing (a snooze does)", "conversations", body=FollowUpBody,
              response="Conversation"),
    ]
