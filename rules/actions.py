"""Rule actions: validated at load (names must exist), turned into `Action`s per decision.

Running an action also updates the `Facts` overlay (queue, tags, status...), so the rules
after it see the conversation as it will be once the pipeline has applied the actions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from router.configuration.yamlsrc import Path_
from router.domain.model import Action
from rules import schema, templates
from rules.context import CompileContext
from rules.facts import Facts
from rules.replies import ReplyBook


@dataclass(frozen=True, slots=True)
class Step:
    """One compiled action: `kind` plus a value checked at load (templates compiled)."""

    kind: str
    value: Any


def _names(value: Any) -> list[str]:
    return [str(v) for v in (value if isinstance(value, list) else [value])]


def build(raw: Any, path: Path_, cc: CompileContext) -> list[Step]:
    """Compile one item of `then:`; problems go to `cc`."""
    if isinstance(raw, str) and raw in ("stop", "resolve", "handoff"):
        raw = {raw: True}  # `- stop` reads naturally; accept it
    if not isinstance(raw, dict) or len(raw) != 1:
        cc.problem(path, "an action is a mapping with one key, e.g. {route: billing}",
                   f"actions: {', '.join(schema.ACTION_TYPES)}")
        return []
    (kind, value), = raw.items()
    here = (*path, kind)
    if kind not in schema.ACTION_TYPES:
        cc.unknown(here, "action", str(kind), schema.ACTION_TYPES, "docs/rules.md#actions")
        return []
    try:
        value = schema.adapter(kind, schema.ACTION_TYPES).validate_python(value)
    except ValidationError as exc:
        cc.validation(here, exc, schema.ACTION_TYPES[kind])
        return []
    return _CHECKS[kind](value, here, cc)


def _reply(value: str, path: Path_, cc: CompileContext) -> list[Step]:
    if value not in cc.reply_ids:
        cc.unknown(path, "reply", value, cc.reply_ids, "replies:")
    return [Step("reply", value)]


def _route(value: str | schema.RouteAction, path: Path_, cc: CompileContext) -> list[Step]:
    # `bots_first` keeps routing and answering apart: the queue is where the conversation
    # goes when a person is needed, and the FAQ still answers what it can before that
    kind = "prefer_queue" if isinstance(value, schema.RouteAction) and value.bots_first else "route"
    queue = value.queue if isinstance(value, schema.RouteAction) else value
    if queue not in cc.queues:
        cc.unknown((*path, "queue") if kind != "route" or not isinstance(value, str) else path,
                   "queue", queue, cc.queues, "queues:")
    return [Step(kind, queue)]


def _assign(value: str | schema.AssignAction, path: Path_, cc: CompileContext) -> list[Step]:
    kind = ("prefer_assignee" if isinstance(value, schema.AssignAction) and value.bots_first
            else "assign")
    target = value.to if isinstance(value, schema.AssignAction) else value
    if target not in cc.agents and target not in cc.teams:
        cc.unknown(path if isinstance(value, str) else (*path, "to"), "agent or team", target,
                   [*cc.agents, *cc.teams], "agents: or teams:")
    return [Step(kind, target)]


def _language(value: str, path: Path_, cc: CompileContext) -> list[Step]:
    if value not in cc.languages:
        cc.unknown(path, "language", value, cc.languages, "languages:")
    return [Step("set_language", value)]


def _handoff(value: bool | str, path: Path_, cc: CompileContext) -> list[Step]:
    if value is False:
        return []
    if isinstance(value, str) and value not in cc.queues:
        cc.unknown(path, "queue", value, cc.queues, "queues:")
    return [Step("handoff", value if isinstance(value, str) else None)]


def _template(kind: str) -> Callable[[str, Path_, CompileContext], list[Step]]:
    def check(value: str, path: Path_, cc: CompileContext) -> list[Step]:
        try:
            return [Step(kind, templates.compile_template(value))]
        except templates.TemplateProblem as exc:
            cc.problem(path, str(exc), "templates get: " + ", ".join(sorted(templates.VARIABLES)))
            return []
    return check


def _webhook(value: schema.WebhookAction, path: Path_, cc: CompileContext) -> list[Step]:
    def compile_tree(node: Any, where: Path_) -> Any:
        if isinstance(node, str):
            try:
                return templates.compile_template(node)
            except templates.TemplateProblem as exc:
                cc.problem(where, str(exc))
                return node
        if isinstance(node, dict):
            return {k: compile_tree(v, (*where, k)) for k, v in node.items()}
        if isinstance(node, list):
            return [compile_tree(v, (*where, i)) for i, v in enumerate(node)]
        return node
    return [Step("webhook", (value.url, compile_tree(value.payload or {}, (*path, "payload"))))]


_CHECKS: dict[str, Callable[[Any, Path_, CompileContext], list[Step]]] = {
    "reply": _reply,
    "route": _route,
    "assign": _assign,
    "priority": lambda v, p, cc: [Step("priority", v)],
    "tag": lambda v, p, cc: [Step("tag", t) for t in _names(v)],
    "untag": lambda v, p, cc: [Step("untag", t) for t in _names(v)],
    "set_language": _language,
    "handoff": _handoff,
    "resolve": lambda v, p, cc: [Step("resolve", None)] if v else [],
    "note": _template("note"),
    "webhook": _webhook,
    "stop": lambda v, p, cc: [Step("stop", None)] if v else [],
}


# --- running --------------------------------------------------------------------------


def run(step: Step, f: Facts, book: ReplyBook, rule: str) -> Action | None:
    """The `Action` for `step` in this decision (None for `stop`); updates `f`."""
    kind, value = step.kind, step.value
    if kind == "reply":
        content = book.render(value, language=f.language, channel=f.ctx.message.channel,
                              variables=_variables(f, book, rule))
        return Action("reply", content, rule)
    if kind in ("route", "prefer_queue"):
        f.queue = value
    elif kind == "assign":
        f.assignee, f.status = value, "assigned"
    elif kind == "priority":
        f.priority = value
    elif kind == "tag":
        f.tags.add(value)
    elif kind == "untag":
        f.tags.discard(value)
    elif kind == "set_language":
        f.language = value
    elif kind == "handoff":
        f.status = "queued"
        f.queue = value or f.queue
        return Action("handoff", {"queue": value}, rule)
    elif kind == "resolve":
        f.status = "resolved"
    elif kind == "note":
        return Action("note", templates.render(value, _variables(f, book, rule)), rule)
    elif kind == "webhook":
        url, payload = value
        body = {**_webhook_base(f, rule), **_render_tree(payload, _variables(f, book, rule))}
        return Action("webhook", {"url": url, "payload": body}, rule)
    elif kind == "stop":
        return None
    return Action(kind, value, rule)


def _variables(f: Facts, book: ReplyBook, rule: str) -> dict[str, Any]:
    return book.variables(f.ctx, language=f.language, queue=f.queue, assignee=f.assignee,
                          rule=rule, tags=f.tags, priority=f.priority)


def _render_tree(node: Any, variables: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        return {k: _render_tree(v, variables) for k, v in node.items()}
    if isinstance(node, list):
        return [_render_tree(v, variables) for v in node]
    if hasattr(node, "render"):
        return templates.render(node, variables)
    return node


def _webhook_base(f: Facts, rule: str) -> dict[str, Any]:
    ctx = f.ctx
    return {
        "event": f.event, "rule": rule, "conversation_id": ctx.conversation.id,
        "channel": ctx.message.channel, "language": f.language, "text": ctx.message.text,
        "queue": f.queue, "priority": f.priority, "tags": sorted(f.tags),
        "contact": {"id": ctx.contact.id, "name": ctx.contact.display_name,
                    "email": ctx.contact.email},
    }


def describe(step: Step) -> dict[str, Any]:
    """The trace's summary of an action: kind and a JSON-friendly value."""
    value = step.value
    if step.kind == "webhook":
        value = value[0]
    elif step.kind == "note":
        value = "(note)"
    return {"kind": step.kind, "value": value}
