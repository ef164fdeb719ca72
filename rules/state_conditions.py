"""Leaf conditions on the contact and the conversation (tags, fields, queue, counts...).

Separate from `rules.conditions` only to keep modules small; importing this module
registers the `contact` and `conversation` condition kinds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from router.configuration.yamlsrc import Path_
from rules import schema
from rules.conditions import All, Always, Leaf, Node, _as_set, leaf
from rules.context import CompileContext
from rules.facts import Facts


def _count(spec: int | schema.Range) -> tuple[Callable[[int], bool], str]:
    if isinstance(spec, int):
        return (lambda n: n == spec), f"== {spec}"
    checks: list[tuple[str, int, Callable[[int, int], bool]]] = []
    for op, fn in (("eq", int.__eq__), ("gt", int.__gt__), ("gte", int.__ge__),
                   ("lt", int.__lt__), ("lte", int.__le__)):
        bound = getattr(spec, op)
        if bound is not None:
            checks.append((op, bound, fn))
    text = " and ".join(f"{op} {bound}" for op, bound, _ in checks) or "any"
    return (lambda n: all(fn(n, bound) for _, bound, fn in checks)), text


def _one(parts: list[Node], dotted: str) -> Node:
    if not parts:
        return Always(dotted)
    return parts[0] if len(parts) == 1 else All(dotted, parts)


def _field_matches(actual: Any, expected: Any) -> bool:
    options = expected if isinstance(expected, list) else [expected]
    if isinstance(actual, list | tuple | set | frozenset):
        return any(_field_matches(a, options) for a in actual)
    return any(str(actual).lower() == str(o).lower() if actual is not None and o is not None
               else actual is o for o in options)


@leaf("contact")
def _contact(value: schema.ContactCondition, path: Path_, dotted: str,
             cc: CompileContext) -> Node:
    parts: list[Node] = []
    if value.tag is not None:
        tags = _as_set(value.tag)
        parts.append(Leaf(f"{dotted}.tag",
                          lambda f: not tags.isdisjoint(t.lower() for t in f.ctx.contact.tags),
                          lambda f, ok: "contact tags: " + (", ".join(sorted(f.ctx.contact.tags))
                                                            or "none")))
    for name, expected in (value.fields or {}).items():
        def test(f: Facts, name: str = name, expected: Any = expected) -> bool:
            return name in f.ctx.contact.fields and _field_matches(f.ctx.contact.fields[name],
                                                                   expected)
        parts.append(Leaf(f"{dotted}.fields.{name}", test,
                          lambda f, ok, name=name: f"{name} = {f.ctx.contact.fields.get(name)!r}"))
    if value.language is not None:
        langs = _as_set(value.language)
        parts.append(Leaf(f"{dotted}.language", lambda f: f.ctx.contact.language in langs,
                          lambda f, ok: f"contact language '{f.ctx.contact.language}'"))
    if not parts:
        cc.problem(path, "contact needs at least one of tag, fields, language")
    return _one(parts, dotted)


@leaf("conversation")
def _conversation(value: schema.ConversationCondition, path: Path_, dotted: str,
                  cc: CompileContext) -> Node:
    parts: list[Node] = []

    def among(field: str, raw: Any, get: Callable[[Facts], str],
              known: Any = None, where: str = "") -> None:
        values = _as_set(raw)
        if known is not None:
            for name in sorted(values - {k.lower() for k in known}):
                cc.unknown((*path, field), field, name, known, where)
        parts.append(Leaf(f"{dotted}.{field}", lambda f: get(f).lower() in values,
                          lambda f, ok: f"{field} is '{get(f)}'"))

    if value.status is not None:
        among("status", value.status, lambda f: f.status)
    if value.queue is not None:
        among("queue", value.queue, lambda f: f.queue, cc.queues, "queues:")
    if value.priority is not None:
        among("priority", value.priority, lambda f: f.priority)
    if value.tag is not None:
        tags = _as_set(value.tag)
        parts.append(Leaf(f"{dotted}.tag", lambda f: not tags.isdisjoint(f.tags),
                          lambda f, ok: "tags: " + (", ".join(sorted(f.tags)) or "none")))
    for field in ("message_count", "bot_turns"):
        spec = getattr(value, field)
        if spec is not None:
            check, text = _count(spec)
            def get(f: Facts, field: str = field) -> int:
                return int(getattr(f.ctx.conversation, field))
            parts.append(Leaf(f"{dotted}.{field}", lambda f, c=check, g=get: c(g(f)),
                              lambda f, ok, g=get, t=text, n=field: f"{n} {g(f)} vs {t}"))
    if value.assigned is not None:
        want = value.assigned
        parts.append(Leaf(f"{dotted}.assigned", lambda f: bool(f.assignee) == want,
                          lambda f, ok: f"assignee '{f.assignee}'"))
    if not parts:
        cc.problem(path, "conversation needs at least one of status, tag, queue, priority, "
                         "message_count, bot_turns, assigned")
    return _one(parts, dotted)
