"""Macros (issue 24): replies agents write themselves, per language, shared or personal.

A macro's text is a template in the rules' Jinja2 sandbox (`rules.templates`, plugged in
by the service as `Templates`: router never imports the rules package). It is checked
when saved (a syntax error or an unknown variable is a 400 naming the language) and
rendered for one conversation in its language, with the variables canned replies get
(`contact`, `conversation`, `queue`, `business_hours`, `message`, `language`) and
`agent` being the agent who sends it. Applying a macro is one unit of work: the reply,
then its tags and priority, then, if it says so, the resolve with the rules' `resolved`
event (thanks, CSAT), exactly as the separate actions would.

Who may do what: every agent keeps personal macros, which only they see; shared macros
are seen by every agent and managed by admins (`router.engine.agents.authz`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from router.domain.agent_errors import ActionRejected, ConflictError, NotFoundError
from router.domain.hours import Schedule
from router.domain.model import Agent, Contact, Conversation, DecisionContext, Event
from router.domain.timefmt import format_opening, format_wait
from router.engine import audit
from router.engine.agents import actions
from router.engine.agents.authz import Act, authorize, current
from router.engine.agents.followups import context_for, resolve_then_rules
from router.engine.agents.policy import DeskPolicy
from router.engine.pipeline import Decide
from router.store.base import Macro, Tx

LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
#: the same neighbours the canned replies fall back to (rules/replies.py)
NEIGHBOURS: Mapping[str, tuple[str, ...]] = {"nb": ("no", "nn"), "no": ("nb", "nn"),
                                             "nn": ("nb", "no")}


class Templates(Protocol):
    """What macros need of a template engine (the rules' sandbox: `rules.templates`)."""

    def compile_template(self, source: str) -> Any:
        """Raises ValueError naming the problem."""

    def render(self, template: Any, variables: Mapping[str, Any]) -> str:
        """Raises ValueError naming the problem."""


@dataclass(frozen=True, slots=True)
class MacroInput:
    """A macro as an agent writes it; None: left as it is (on a change)."""

    name: str | None = None
    texts: Mapping[str, str] | None = None
    shared: bool | None = None
    add_tags: Sequence[str] | None = None
    priority: str | None = None  # "" clears
    resolve: bool | None = None


def check_texts(templates: Templates, texts: Mapping[str, str]) -> None:
    """Every text compiles and names only variables macros get (a trial render with sample
    values catches those the checker of canned replies allows but macros lack)."""
    if not texts:
        raise ActionRejected("texts: give the text in at least one language, e.g. {\"en\": ...}")
    sample = _sample()
    for lang, source in texts.items():
        if not LANGUAGE.match(lang):
            raise ActionRejected(f"texts.{lang}: not a language code such as en, sv or pt-BR")
        if not source.strip():
            raise ActionRejected(f"texts.{lang}: empty; write the text or leave the language out")
        try:
            templates.render(templates.compile_template(source), {**sample, "language": lang})
        except ValueError as exc:
            raise ActionRejected(f"texts.{lang}: {exc}") from None


def pick_language(texts: Mapping[str, str], language: str, default: str) -> str:
    """The conversation's language, its primary subtag or neighbours, the desk's default
    language, English, else the first text."""
    primary = language.split("-", 1)[0]
    for code in (language, primary, *NEIGHBOURS.get(primary, ()), default, "en"):
        if code and code in texts:
            return code
    return next(iter(texts))


def variables(ctx: DecisionContext, conv: Conversation, contact: Contact, actor: Agent,
              policy: DeskPolicy, language: str) -> dict[str, Any]:
    """What a macro's template gets: the canned replies' variables; `agent` is the sender."""
    queue = policy.queue(conv.queue)
    sla = queue.sla
    return {
        "contact": {"name": contact.display_name, "display_name": contact.display_name,
                    "first_name": contact.view().first_name, "email": contact.email,
                    "language": contact.language, "tags": sorted(contact.tags),
                    "fields": dict(contact.fields)},
        "conversation": {"id": conv.id, "channel": conv.channel, "status": str(conv.status),
                         "queue": conv.queue, "priority": str(conv.priority),
                         "tags": sorted(conv.tags), "language": language,
                         "message_count": conv.message_count, "bot_turns": conv.bot_turns,
                         "assignee": conv.assignee},
        "queue": {"name": conv.queue, "description": queue.description, "sla": {
            "first_response": format_wait(sla.first_response, language)
            if sla.first_response else "",
            "resolution": format_wait(sla.resolution, language) if sla.resolution else ""}},
        "business_hours": _hours(policy, ctx.now, language),
        "agent": {"id": actor.name, "name": actor.display_name or actor.name},
        "message": {"text": ctx.message.text, "channel": conv.channel},
        "rule": {"name": ""},
        "language": language,
    }


def _hours(policy: DeskPolicy, now: datetime, language: str) -> dict[str, Any]:
    schedule = policy.calendar
    if not isinstance(schedule, Schedule):
        return {"open": True, "next_opening": "", "next_opening_iso": "", "timezone": "UTC"}
    opening = schedule.next_opening(now)
    return {"open": schedule.is_open(now),
            "next_opening": format_opening(opening, language, opening.tzinfo or UTC)
            if opening else "",
            "next_opening_iso": opening.isoformat() if opening else "",
            "timezone": str(schedule.tz)}


def _sample() -> dict[str, Any]:
    contact = {"name": "Ada", "display_name": "Ada", "first_name": "Ada", "email": "",
               "language": "", "tags": [], "fields": {}}
    conversation = {"id": 1, "channel": "webchat", "status": "assigned", "queue": "general",
                    "priority": "normal", "tags": [], "language": "en", "message_count": 1,
                    "bot_turns": 0, "assignee": ""}
    return {"contact": contact, "conversation": conversation,
            "queue": {"name": "general", "description": "", "sla": {"first_response": "",
                                                                      "resolution": ""}},
            "business_hours": {"open": True, "next_opening": "", "next_opening_iso": "",
                               "timezone": "UTC"},
            "agent": {"id": "ada", "name": "Ada"}, "message": {"text": "", "channel": ""},
            "rule": {"name": ""}}


async def render(tx: Tx, templates: Templates, policy: DeskPolicy, macro: Macro,
                 conv: Conversation, actor: Agent, now: datetime) -> tuple[str, str]:
    """(language, text) of `macro` for `conv`; ActionRejected if it does not render."""
    ctx, contact = await context_for(tx, conv, now)
    lang = pick_language(macro.texts, conv.language or contact.language,
                         policy.default_language)
    try:
        text = templates.render(templates.compile_template(macro.texts[lang]),
                                variables(ctx, conv, contact, actor, policy, lang))
    except ValueError as exc:
        raise ActionRejected(f"macro {macro.id} ({lang}) does not render: {exc}") from None
    if not text.strip():
        raise ActionRejected(f"macro {macro.id} ({lang}) renders as empty text here")
    return lang, text


# --- keeping macros ---------------------------------------------------------------------

async def visible(tx: Tx, macro_id: int, actor: Agent) -> Macro:
    """The macro if `actor` may use it (shared, or their own); another agent's personal
    macro does not exist for them."""
    macro = await tx.macro_get(macro_id)
    if macro is None or macro.owner not in ("", actor.name):
        raise NotFoundError(f"macro {macro_id} does not exist (or is another agent's)")
    return macro


async def _may_change(tx: Tx, actor: Agent, macro: Macro) -> None:
    """Shared macros are for admins, judged by the agent as stored now (a role taken away
    a moment ago counts, as for every action at the desk)."""
    if not macro.owner:
        authorize(await current(tx, actor), Act.SHARED_MACROS)


def _named(name: str) -> str:
    if not name.strip():
        raise ActionRejected("name: empty; give the macro a name agents will find it by")
    return name


async def _unique(tx: Tx, owner: str, name: str, macro_id: int = 0) -> None:
    found = await tx.macro_find(owner, name)
    if found is not None and found.id != macro_id:
        where = "shared macro" if not owner else "macro of yours"
        raise ConflictError(f"there is a {where} named '{name}' (macro {found.id}); pick "
                            "another name or change that one")


def _actions(spec: MacroInput, old: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(old)
    if spec.add_tags is not None:
        out["add_tags"] = list(dict.fromkeys(t.strip() for t in spec.add_tags if t.strip()))
    if spec.priority is not None:
        out["priority"] = spec.priority
    if spec.resolve is not None:
        out["resolve"] = spec.resolve
    return {k: v for k, v in out.items() if v}


async def create(tx: Tx, templates: Templates, spec: MacroInput, actor: Agent, now: datetime,
                 *, address: str = "") -> Macro:
    assert spec.name is not None and spec.texts is not None
    _named(spec.name)
    macro = Macro(0, spec.name, "" if spec.shared else actor.name, dict(spec.texts),
                  _actions(spec, {}), created_by=actor.name)
    await _may_change(tx, actor, macro)
    check_texts(templates, macro.texts)
    await _unique(tx, macro.owner, macro.name)
    macro.id = await tx.macro_add(macro, now)
    await audit.record(tx, audit.by_agent(actor, address), "macro_added", f"macro:{macro.id}",
                       now=now, detail={"name": macro.name, "shared": not macro.owner})
    return await tx.macro_get(macro.id) or macro


async def change(tx: Tx, templates: Templates, macro_id: int, spec: MacroInput, actor: Agent,
                 now: datetime, *, address: str = "") -> Macro:
    macro = await visible(tx, macro_id, actor)
    await _may_change(tx, actor, macro)
    before = (macro.name, macro.owner, dict(macro.texts), dict(macro.actions))
    if spec.name is not None:
        macro.name = _named(spec.name)
    if spec.shared is not None and spec.shared != (not macro.owner):
        macro.owner = "" if spec.shared else actor.name
        await _may_change(tx, actor, macro)  # making one's own macro shared is an admin's call too
    if spec.texts is not None:
        check_texts(templates, spec.texts)
        macro.texts = dict(spec.texts)
    macro.actions = _actions(spec, macro.actions)
    after = (macro.name, macro.owner, macro.texts, macro.actions)
    changed = [n for n, a, b in zip(("name", "shared", "texts", "actions"), before, after,
                                    strict=True) if a != b]
    if changed:
        await _unique(tx, macro.owner, macro.name, macro.id)
        await tx.macro_save(macro, now)
        await audit.record(tx, audit.by_agent(actor, address), "macro_changed",
                           f"macro:{macro.id}", now=now, detail={
                               "name": macro.name, "shared": not macro.owner,
                               "fields": changed})
    return await tx.macro_get(macro.id) or macro


async def delete(tx: Tx, macro_id: int, actor: Agent, now: datetime, *,
                 address: str = "") -> None:
    macro = await visible(tx, macro_id, actor)
    await _may_change(tx, actor, macro)
    await tx.macro_delete(macro_id)
    await audit.record(tx, audit.by_agent(actor, address), "macro_deleted", f"macro:{macro_id}",
                       now=now, detail={"name": macro.name, "shared": not macro.owner})


# --- applying one -----------------------------------------------------------------------

def applying(templates: Templates, macro_id: int, text: str | None,
             decide: Decide | None, reply: Mapping[str, Any] | None = None) -> Any:
    """A desk action (`Desk.run`): send the macro's reply (`text`, the agent's edit of it,
    or the macro rendered now; `reply`: what else `actions.reply` takes, files and
    `if_assignee`), then its tags and priority, then resolve if it says so."""
    resolve = resolve_then_rules(decide)

    async def apply_macro(tx: Tx, policy: DeskPolicy, conv: Conversation, actor: Agent,
                          now: datetime) -> int:
        macro = await visible(tx, macro_id, actor)
        body = text if text is not None and text.strip() else None
        lang = conv.language
        if body is None:
            lang, body = await render(tx, templates, policy, macro, conv, actor, now)
        message_id = await actions.reply(tx, policy, conv, actor, now, body, **(reply or {}))
        did = macro.actions
        if did.get("add_tags") or did.get("priority"):
            await actions.update(tx, policy, conv, actor, now, priority=did.get("priority"),
                                 add_tags=list(did.get("add_tags", [])))
        await tx.insert_event(Event(0, "macro_applied", now, conv.id, f"agent:{actor.name}", {
            "macro_id": macro.id, "message_id": message_id, "language": lang,
            "agent_text": text is not None}))
        if did.get("resolve"):
            await resolve(tx, policy, conv, actor, now)
        return message_id

    return apply_macro
