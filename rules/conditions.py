"""Condition trees: `all` / `any` / `not` over leaf tests, compiled once at load.

Every node knows its readable path ("when.any[1].text.keywords"), so a decision can say
*which* condition decided it: for `all` the first condition that failed, for `any` the
first that matched. `eval` returns (result, deciding leaf); the leaf explains itself
only when a trace is built. Leaf kinds are registered with `@leaf("kind")`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from router.configuration.yamlsrc import Path_
from rules import schema
from rules.context import CompileContext
from rules.facts import Facts
from rules.regexes import compile_regex


class Node:
    path: str = "when"

    def eval(self, f: Facts) -> tuple[bool, Node]:
        raise NotImplementedError

    def reason(self, f: Facts) -> str:
        return "matched" if self.eval(f)[0] else "not matched"

    def required_keywords(self) -> frozenset[int] | None:
        """Keyword ids of which at least one must be found for this node to hold."""
        return None


class Always(Node):
    def __init__(self, path: str) -> None:
        self.path = path

    def eval(self, f: Facts) -> tuple[bool, Node]:
        return True, self

    def reason(self, f: Facts) -> str:
        return "no conditions"


class All(Node):
    def __init__(self, path: str, children: list[Node]) -> None:
        self.path, self.children = path, children

    def eval(self, f: Facts) -> tuple[bool, Node]:
        for child in self.children:
            ok, leaf = child.eval(f)
            if not ok:
                return False, leaf
        return True, self

    def reason(self, f: Facts) -> str:
        return f"all {len(self.children)} conditions matched"

    def required_keywords(self) -> frozenset[int] | None:
        options = [r for r in (c.required_keywords() for c in self.children) if r is not None]
        return min(options, key=len) if options else None


class Any_(Node):
    def __init__(self, path: str, children: list[Node]) -> None:
        self.path, self.children = path, children

    def eval(self, f: Facts) -> tuple[bool, Node]:
        for child in self.children:
            ok, leaf = child.eval(f)
            if ok:
                return True, leaf
        return False, self

    def reason(self, f: Facts) -> str:
        return f"none of {len(self.children)} conditions matched"

    def required_keywords(self) -> frozenset[int] | None:
        needs = [c.required_keywords() for c in self.children]
        if not needs or any(n is None for n in needs):
            return None
        return frozenset().union(*(n for n in needs if n is not None))


class Not(Node):
    def __init__(self, path: str, child: Node) -> None:
        self.path, self.child = path, child

    def eval(self, f: Facts) -> tuple[bool, Node]:
        ok, _leaf = self.child.eval(f)
        return not ok, self

    def reason(self, f: Facts) -> str:
        ok, leaf = self.child.eval(f)
        return f"{leaf.path} {'held' if ok else 'did not hold'} ({leaf.reason(f)})"


class Leaf(Node):
    def __init__(self, path: str, test: Callable[[Facts], bool],
                 describe: Callable[[Facts, bool], str]) -> None:
        self.path, self.test, self.describe = path, test, describe

    def eval(self, f: Facts) -> tuple[bool, Node]:
        return self.test(f), self

    def reason(self, f: Facts) -> str:
        return self.describe(f, self.test(f))


class Keywords(Leaf):
    """Whole-word keywords, answered from the set of ids the automaton found."""

    def __init__(self, path: str, by_language: dict[str, frozenset[int]],
                 require_all: bool, texts: dict[int, str]) -> None:
        self.path = path
        self.by_language = by_language
        self.require_all = require_all
        self.texts = texts
        self.test = self._test
        self.describe = self._describe

    def _ids(self, f: Facts) -> frozenset[int] | None:
        return self.by_language.get(f.language, self.by_language.get("*"))

    def _test(self, f: Facts) -> bool:
        ids = self._ids(f)
        if not ids:
            return False
        return ids <= f.found if self.require_all else not ids.isdisjoint(f.found)

    def _describe(self, f: Facts, ok: bool) -> str:
        ids = self._ids(f)
        if ids is None:
            return f"no keywords for language '{f.language}'"
        hits = sorted(self.texts[i] for i in ids & f.found)
        if ok:
            return "found " + ", ".join(repr(h) for h in hits)
        if self.require_all:
            missing = sorted(self.texts[i] for i in ids - f.found)
            return "missing " + ", ".join(repr(m) for m in missing[:5])
        return "no keyword found"

    def required_keywords(self) -> frozenset[int] | None:
        return frozenset().union(*self.by_language.values())


# --- building -------------------------------------------------------------------------

Builder = Callable[[Any, Path_, str, CompileContext], Node | None]
LEAVES: dict[str, Builder] = {}


def leaf(kind: str) -> Callable[[Builder], Builder]:
    def register(fn: Builder) -> Builder:
        LEAVES[kind] = fn
        return fn
    return register


def build(raw: Any, path: Path_, dotted: str, cc: CompileContext) -> Node | None:
    """Compile the condition at `path` (raw YAML data); problems go to `cc`."""
    if raw is None:
        return Always(dotted)
    if isinstance(raw, list):
        kids = [build(item, (*path, i), f"{dotted}[{i}]", cc) for i, item in enumerate(raw)]
        return All(dotted, [k for k in kids if k is not None])
    if not isinstance(raw, dict) or not raw:
        cc.problem(path, "a condition must be a mapping such as {channel: telegram}",
                   "see docs/rules.md#conditions")
        return None
    if len(raw) > 1:  # {channel: x, language: y} means both
        kids = [build({k: v}, path, dotted, cc) for k, v in raw.items()]
        return All(dotted, [k for k in kids if k is not None])
    (kind, value), = raw.items()
    here, sub = (*path, kind), f"{dotted}.{kind}"
    if kind in ("all", "any"):
        if not isinstance(value, list) or not value:
            cc.problem(here, f"'{kind}' needs a non-empty list of conditions")
            return None
        kids = [build(item, (*here, i), f"{sub}[{i}]", cc) for i, item in enumerate(value)]
        nodes = [k for k in kids if k is not None]
        return All(sub, nodes) if kind == "all" else Any_(sub, nodes)
    if kind == "not":
        child = build(value, here, sub, cc)
        return Not(sub, child) if child is not None else None
    if kind not in LEAVES:
        cc.unknown(here, "condition", str(kind), [*schema.COMBINATORS, *LEAVES], "docs/rules.md")
        return None
    try:
        value = schema.adapter(kind, schema.CONDITION_TYPES).validate_python(value)
    except ValidationError as exc:
        cc.validation(here, exc, schema.CONDITION_TYPES[kind])
        return None
    return LEAVES[kind](value, here, sub, cc)


def _as_set(value: Any, fold: Callable[[str], str] = str.lower) -> frozenset[str]:
    items = value if isinstance(value, list) else [value]
    return frozenset(fold(str(v)) for v in items)


def _is(values: frozenset[str], seen: str) -> str:
    return f"is '{seen}'" if seen in values else f"'{seen}' is not {', '.join(sorted(values))}"


@leaf("channel")
def _channel(value: Any, path: Path_, dotted: str, cc: CompileContext) -> Node:
    # `telegram` matches every Telegram bot's channel (`telegram:support`, ...);
    # `telegram:support` matches that bot only.
    values = _as_set(value)
    for name in sorted(v for v in values if v.split(":", 1)[0] not in schema.CHANNELS):
        cc.unknown(path, "channel", name, schema.CHANNELS, "channels:")

    def test(f: Any) -> bool:
        channel = f.ctx.message.channel
        return channel in values or channel.split(":", 1)[0] in values

    return Leaf(dotted, test, lambda f, ok: f"is '{f.ctx.message.channel}'" if ok
                else _is(values, f.ctx.message.channel))


@leaf("language")
def _language(value: Any, path: Path_, dotted: str, cc: CompileContext) -> Node:
    values = _as_set(value)
    for code in sorted(values - set(cc.languages)):
        cc.unknown(path, "language", code, cc.languages, "languages:")
    return Leaf(dotted, lambda f: f.language in values, lambda f, ok: _is(values, f.language))


@leaf("text")
def _text(value: schema.TextCondition, path: Path_, dotted: str, cc: CompileContext) -> Node:
    if value.regex is not None:
        try:
            rx = compile_regex(value.regex, case_sensitive=value.case_sensitive, utf8=True)
        except ValueError as exc:
            cc.problem((*path, "regex"), str(exc),
                       "RE2 has no lookaround or backreferences; see docs/rules.md#regex")
            rx = None
        return Leaf(f"{dotted}.regex", lambda f: rx is not None and rx.search(f.utf8) is not None,
                    lambda f, ok: f"/{value.regex}/ {'matched' if ok else 'did not match'}")
    raw = value.keywords
    per_lang = raw if isinstance(raw, dict) else {"*": raw or []}
    by_language: dict[str, frozenset[int]] = {}
    texts: dict[int, str] = {}
    for lang, words in per_lang.items():
        if lang != "*" and lang not in cc.languages:
            cc.unknown((*path, "keywords", lang), "language", lang, cc.languages, "languages:")
        if not words:
            cc.problem((*path, "keywords", *(() if lang == "*" else (lang,))),
                       "an empty keyword list never matches", "add keywords or remove it")
        ids = []
        for i, word in enumerate(words):
            kw_path = (*path, "keywords", *(() if lang == "*" else (lang,)), i)
            try:
                kw = cc.keywords.add(word)
            except ValueError as exc:
                cc.problem(kw_path, str(exc))
                continue
            ids.append(kw.id)
            texts[kw.id] = kw.text + ("*" if kw.prefix else "")
        by_language[lang] = frozenset(ids)
    return Keywords(f"{dotted}.keywords", by_language, value.match == "all", texts)


@leaf("attachment")
def _attachment(value: Any, path: Path_, dotted: str, cc: CompileContext) -> Node:
    if isinstance(value, bool):
        want = value
        return Leaf(dotted, lambda f: bool(f.ctx.message.attachments) == want,
                    lambda f, ok: f"{len(f.ctx.message.attachments)} attachment(s)")
    kinds = _as_set(value)
    return Leaf(dotted, lambda f: any(a.kind in kinds for a in f.ctx.message.attachments),
                lambda f, ok: "attachment kinds: " + (", ".join(
                    a.kind for a in f.ctx.message.attachments) or "none"))


@leaf("business_hours")
def _hours(value: str, path: Path_, dotted: str, cc: CompileContext) -> Node:
    want_open = value == "open"
    return Leaf(dotted, lambda f: f.is_open == want_open,
                lambda f, ok: "open" if f.is_open else "closed")


@leaf("first_message")
def _first(value: bool, path: Path_, dotted: str, cc: CompileContext) -> Node:
    def test(f: Facts) -> bool:
        conv = f.ctx.conversation
        return (conv.is_new or conv.message_count <= 1) == value
    return Leaf(dotted, test, lambda f, ok: f"message {f.ctx.conversation.message_count} "
                                            "of the conversation")


def _glob(patterns: frozenset[str]) -> Callable[[str], bool]:
    compiled = re.compile("|".join(fnmatch.translate(p) for p in sorted(patterns)))
    return lambda s: bool(s) and compiled.match(s.lower()) is not None


@leaf("sender")
def _sender(value: schema.SenderCondition, path: Path_, dotted: str,
            cc: CompileContext) -> Node:
    tests: list[Node] = []

    def add(field: str, get: Callable[[Facts], str], match: Callable[[str], bool]) -> None:
        tests.append(Leaf(f"{dotted}.{field}", lambda f: match(get(f)),
                          lambda f, ok: f"{field} '{get(f)}' {'matches' if ok else 'does not match'}"))

    def email(f: Facts) -> str:
        s = f.ctx.message.sender
        return (s.email or (s.external_id if f.ctx.message.channel == "email" else "")).lower()

    if value.email is not None:
        add("email", email, _glob(_as_set(value.email)))
    if value.domain is not None:
        domains = _as_set(value.domain, lambda d: d.lower().lstrip("@"))
        add("domain", lambda f: email(f).rpartition("@")[2],
            lambda d: any(d == x or d.endswith("." + x) for x in domains))
    if value.username is not None:
        names = _as_set(value.username, lambda u: u.lower().lstrip("@"))
        add("username", lambda f: f.ctx.message.sender.username.lower().lstrip("@"),
            lambda u: u in names)
    if value.user is not None:
        users = _as_set(value.user, str)
        add("user", lambda f: f.ctx.message.sender.external_id, lambda u: u in users)
    if value.team is not None:
        teams = _as_set(value.team, str)
        add("team", lambda f: f.ctx.message.sender.team, lambda t: t in teams)
    if not tests:
        cc.problem(path, "sender needs at least one of email, domain, username, user, team")
        return Always(dotted)
    return tests[0] if len(tests) == 1 else All(dotted, tests)
