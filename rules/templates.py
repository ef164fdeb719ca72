"""Jinja2 templates for canned replies, notes and webhook payloads.

Templates run in Jinja2's sandbox (no attribute access to Python internals) with strict
undefined, and every variable a template uses is checked against `VARIABLES` when the
config is loaded, so `{{ contact.frist_name }}` is a load error with a line number rather
than an empty greeting sent to customers. Output is plain text; `rules.escape` makes it
safe for the target channel afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.exceptions import TemplateError
from jinja2.meta import find_undeclared_variables
from jinja2.sandbox import SandboxedEnvironment

ANY = None  # below this point any attribute is allowed (free-form fields)
VARIABLES: dict[str, Any] = {
    "contact": {"name": 0, "first_name": 0, "display_name": 0, "email": 0, "language": 0,
                "tags": 0, "fields": ANY},
    "conversation": {"id": 0, "channel": 0, "status": 0, "queue": 0, "priority": 0,
                     "tags": 0, "language": 0, "message_count": 0, "bot_turns": 0,
                     "assignee": 0},
    "queue": {"name": 0, "description": 0, "sla": {"first_response": 0, "resolution": 0}},
    "business_hours": {"open": 0, "next_opening": 0, "next_opening_iso": 0, "timezone": 0},
    "agent": {"id": 0, "name": 0},
    "message": {"text": 0, "channel": 0},
    "rule": {"name": 0},
    "language": 0,
}

ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)

class TemplateProblem(ValueError):
    """A template that does not compile or names an unknown variable."""


def _attr_path(node: nodes.Node) -> tuple[str, ...] | None:
    """contact.fields.plan / contact['first_name'] -> ('contact', 'fields', 'plan')."""
    parts: list[str] = []
    while True:
        if isinstance(node, nodes.Getattr):
            parts.append(node.attr)
            node = node.node
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) \
                and isinstance(node.arg.value, str):
            parts.append(node.arg.value)
            node = node.node
        elif isinstance(node, nodes.Name):
            return (node.name, *reversed(parts))
        else:
            return None


def _outermost(ast: nodes.Template) -> Iterator[tuple[str, ...]]:
    inner: set[int] = set()
    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        child = node.node
        if isinstance(child, nodes.Getattr | nodes.Getitem):
            inner.add(id(child))
    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        if id(node) not in inner:
            path = _attr_path(node)
            if path:
                yield path


def check_path(path: tuple[str, ...]) -> str | None:
    """Error message if `path` names something templates do not get, else None."""
    spec: Any = VARIABLES
    for depth, part in enumerate(path):
        if spec is ANY:
            return None
        if not isinstance(spec, dict) or part not in spec:
            where = ".".join(path[:depth]) or "templates"
            known = ", ".join(sorted(spec)) if isinstance(spec, dict) else "none"
            return f"unknown variable '{'.'.join(path[:depth + 1])}' ({where} has: {known})"
        spec = spec[part]
    return None


def compile_template(source: str) -> Any:
    """Compile and check one template. Raises TemplateProblem with a readable reason."""
    if not any(mark in source for mark in ("{{", "{%", "{#")):
        return Static(source.strip())  # most canned replies: no sandbox run per message
    try:
        ast = ENV.parse(source)
        template = ENV.from_string(source)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"template error on its line {exc.lineno}: {exc.message}") from None
    except TemplateError as exc:
        raise TemplateProblem(f"template error: {exc}") from None
    local = {n.name for n in ast.find_all(nodes.Name) if n.ctx in ("store", "param")}
    for name in sorted(find_undeclared_variables(ast)):
        if name not in VARIABLES:
            raise TemplateProblem(f"unknown variable '{name}' (templates get: "
                                  f"{', '.join(sorted(VARIABLES))})")
    for path in _outermost(ast):
        if path[0] in local:
            continue
        error = check_path(path)
        if error:
            raise TemplateProblem(error)
    fast = _plain(ast.body)
    return Plain(template, fast) if fast is not None else template


# Types whose values templates read by key only: `x.name` on one of these is `x["name"]`
# whenever the type has no attribute `name` (what Jinja's sandbox does after getattr fails).
_BY_KEY: dict[type, frozenset[str]] = {}


def read_by_key(cls: type) -> type:
    """Register a Mapping type that templates read by key (see `Plain`)."""
    _BY_KEY[cls] = frozenset(dir(cls))
    return cls


read_by_key(dict)

_Fill = Callable[[Mapping[str, Any]], Any]


class _Fallback(Exception):
    """The plain renderer met something only Jinja knows how to treat."""


def _lookup(node: nodes.Node) -> _Fill | None:
    """`contact.first_name`, `queue['sla'].first_response`, `language`: a read of a
    variable, then of keys; None for any other expression."""
    path = _attr_path(node)
    if path is None:
        return None
    name, keys = path[0], path[1:]

    def read(variables: Mapping[str, Any]) -> Any:
        try:
            value = variables[name]
            for key in keys:
                attrs = _BY_KEY.get(type(value))
                if attrs is None or key in attrs:
                    raise _Fallback
                value = value[key]
        except (KeyError, TypeError):
            raise _Fallback from None
        return value

    return read


def _plain(body: list[nodes.Node]) -> Callable[[Mapping[str, Any]], str] | None:
    """A renderer for templates made of text, `{{ variable.key }}` and `{% if variable.key
    %}...{% elif %}...{% else %}...{% endif %}`: what canned replies use. Jinja's runtime
    (a context object, the sandbox's attribute checks, an AttributeError per dict key)
    cost more than the rest of a reply; this does the same reads and joins. None when the
    template uses anything else (filters, loops, operators): Jinja renders those."""
    parts: list[Callable[[Mapping[str, Any], list[str]], None]] = []
    for node in body:
        if isinstance(node, nodes.Output):
            for item in node.nodes:
                if isinstance(item, nodes.TemplateData):
                    text = item.data
                    parts.append(lambda _v, out, text=text: out.append(text))
                    continue
                read = _lookup(item)
                if read is None:
                    return None
                parts.append(lambda v, out, read=read: out.append(str(read(v))))
        elif isinstance(node, nodes.If):
            branches: list[tuple[_Fill, Callable[[Mapping[str, Any]], str]]] = []
            for test, then in [(node.test, node.body), *((e.test, e.body) for e in node.elif_)]:
                read, inner = _lookup(test), _plain(then)
                if read is None or inner is None:
                    return None
                branches.append((read, inner))
            otherwise = _plain(node.else_)
            if otherwise is None:
                return None
            parts.append(lambda v, out, branches=branches, otherwise=otherwise:
                         out.append(_choose(v, branches, otherwise)))
        else:
            return None

    def render(variables: Mapping[str, Any]) -> str:
        out: list[str] = []
        for part in parts:
            part(variables, out)
        return "".join(out)

    return render


def _choose(variables: Mapping[str, Any],
            branches: list[tuple[_Fill, Callable[[Mapping[str, Any]], str]]],
            otherwise: Callable[[Mapping[str, Any]], str]) -> str:
    for test, then in branches:
        value = test(variables)
        if type(value) not in _PLAIN_TRUTH:
            raise _Fallback  # Undefined and other objects: their truth is Jinja's business
        if value:
            return then(variables)
    return otherwise(variables)


_PLAIN_TRUTH = frozenset({str, int, bool, float, list, dict, tuple, type(None)})


@dataclass(frozen=True, slots=True)
class Plain:
    """A compiled Jinja template with a plain renderer for its common case (see `_plain`):
    the output is the same text; whatever the plain renderer does not handle (a missing
    variable, an object that is not a registered mapping) goes to Jinja, which renders
    or raises exactly as before."""

    template: Any
    fill: Callable[[Mapping[str, Any]], str]

    def render(self, variables: Mapping[str, Any]) -> str:
        try:
            return self.fill(variables)
        except _Fallback:
            return str(self.template.render(variables))


@dataclass(frozen=True, slots=True)
class Static:
    """A template with no Jinja syntax at all: rendering it is returning the text."""

    text: str

    def render(self, _: Mapping[str, Any]) -> str:
        return self.text


def render(template: Any, variables: Mapping[str, Any]) -> str:
    """Render to plain text; runtime errors surface as TemplateProblem."""
    if isinstance(template, Static):
        return template.text
    try:  # a Jinja template, or a Plain one (which hands to Jinja what it does not do)
        return str(template.render(variables)).strip()
    except TemplateError as exc:
        raise TemplateProblem(f"template failed: {exc}") from None
