"""`compile_rules`: validate the rules-owned config keys and build a `RuleSet`.

Validation goes on after the first problem, rule by rule and reply by reply, so the admin
sees every mistake at once, each with file:line:column and a hint.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from typing import Any

from pydantic import TypeAdapter, ValidationError

from router.configuration.yamlsrc import Source
from router.domain.errors import RuleError
from router.domain.hours import Schedule
from rules import actions, conditions, language, schema, state_conditions, templates
from rules.context import CompileContext
from rules.engine import CompiledRule, RuleSet
from rules.replies import CannedReply, ReplyBook

_ = state_conditions  # registers the contact/conversation conditions
_BUTTONS = TypeAdapter(list[schema.Button])


def compile_rules(source: Source, *, queues: Collection[str], agents: Collection[str],
                  teams: Collection[str] = ()) -> RuleSet:
    """Compile the rules, replies and business hours in `source`.

    Raises:
        RuleError: with every problem found, each located at file:line:column.
    """
    data = {k: source.data[k] for k in schema.OWNED_KEYS if k in source.data}
    probe = CompileContext(source, (), "", queues, agents, teams, ())
    try:
        top = schema.RulesConfig.model_validate({**data, "replies": {}, "rules": []})
    except ValidationError as exc:
        probe.validation((), exc, schema.RulesConfig)
        raise RuleError(probe.problems) from None
    languages = tuple(dict.fromkeys(top.languages))
    default = top.default_language or languages[0]
    raw_replies = data.get("replies") or {}
    cc = CompileContext(source, languages, default, queues, agents, teams,
                        tuple(raw_replies) if isinstance(raw_replies, dict) else ())
    _check_languages(cc, top)
    replies = _replies(cc, raw_replies)
    rules = _rules(cc, data.get("rules") or [])
    if cc.problems:
        order = {f: i for i, f in enumerate(source.files)}
        cc.problems.sort(key=lambda p: (order.get(p.file, len(order)), p.line, p.column))
        raise RuleError(cc.problems)
    cc.keywords.freeze()
    hours = top.business_hours
    book = ReplyBook(
        replies=replies, fallbacks=top.language_fallbacks, default_language=default,
        schedule=(Schedule.build(hours.timezone, hours.weekly, hours.holidays)
                  if hours is not None else Schedule.open_always()),
        queues=_queue_info(source.data.get("queues")),
        agents=_agent_names(source.data.get("agents")),
    )
    return RuleSet(version=_version(data, queues, agents, teams), rules=rules,
                   keywords=cc.keywords, book=book,
                   detector=language.Detector(languages, default))


def _check_languages(cc: CompileContext, top: schema.RulesConfig) -> None:
    for i, code in enumerate(top.languages):
        if not language.supported(code):
            cc.problem(("languages", i), f"language '{code}' cannot be detected",
                       "use ISO 639-1 codes such as sv, fi, nb, uk, en")
    if top.default_language and top.default_language not in cc.languages:
        cc.unknown(("default_language",), "language", top.default_language, cc.languages,
                   "languages:")
    for lang, chain in top.language_fallbacks.items():
        if lang not in cc.languages:
            cc.unknown(("language_fallbacks", lang), "language", lang, cc.languages,
                       "languages:")
        for i, code in enumerate(chain):
            if code not in cc.languages and code not in ("no", "nn", "nb"):
                cc.unknown(("language_fallbacks", lang, i), "language", code, cc.languages,
                           "languages:")


def _replies(cc: CompileContext, raw: Any) -> dict[str, CannedReply]:
    if not isinstance(raw, dict):
        cc.problem(("replies",), "replies must map reply ids to texts per language")
        return {}
    out: dict[str, CannedReply] = {}
    for reply_id, body in raw.items():
        here = ("replies", reply_id)
        if isinstance(body, str):
            body = {cc.default_language: body}  # one text: it is the default language's
        if not isinstance(body, dict):
            cc.problem(here, f"reply '{reply_id}' must map languages to texts",
                       "e.g. greeting: {sv: 'Hej!', en: 'Hi!'}")
            continue
        texts: dict[str, Any] = {}
        buttons: tuple[tuple[str, Mapping[str, str]], ...] = ()
        for key, value in body.items():
            if key == "buttons":
                buttons = _buttons(cc, (*here, key), value)
            elif key not in cc.languages:
                cc.unknown((*here, key), "language", str(key), cc.languages,
                           "languages: (or write 'buttons')")
            elif not isinstance(value, str):
                cc.problem((*here, key), "a reply text must be a string")
            else:
                try:
                    texts[key] = templates.compile_template(value)
                except templates.TemplateProblem as exc:
                    cc.problem((*here, key), f"reply '{reply_id}' ({key}): {exc}",
                               "templates get: " + ", ".join(sorted(templates.VARIABLES)))
        if cc.default_language not in body:
            cc.problem(here, f"reply '{reply_id}' has no text in the default language "
                             f"'{cc.default_language}'",
                       f"add a '{cc.default_language}:' text; it is the last fallback")
        out[reply_id] = CannedReply(reply_id, texts, buttons)
    return out


def _buttons(cc: CompileContext, path: tuple[Any, ...],
             raw: Any) -> tuple[tuple[str, Mapping[str, str]], ...]:
    try:
        items = _BUTTONS.validate_python(raw)
    except ValidationError as exc:
        cc.validation(path, exc, schema.Button)
        return ()
    out = []
    for i, button in enumerate(items):
        labels = button.label if isinstance(button.label, dict) else {
            cc.default_language: button.label}
        for lang in labels:
            if lang not in cc.languages:
                cc.unknown((*path, i, "label", lang), "language", lang, cc.languages,
                           "languages:")
        out.append((button.payload, labels))
    return tuple(out)


def _rules(cc: CompileContext, raw: Any) -> list[CompiledRule]:
    if not isinstance(raw, list):
        cc.problem(("rules",), "rules must be a list", "start each rule with '- name: ...'")
        return []
    seen: dict[str, int] = {}
    out: list[CompiledRule] = []
    for i, item in enumerate(raw):
        here = ("rules", i)
        on_key = "on"
        if isinstance(item, dict) and "true" in item and "on" not in item:
            # YAML 1.1 reads a bare `on:` key as the boolean true; it means the event.
            item, on_key = {("on" if k == "true" else k): v for k, v in item.items()}, "true"
        try:
            rule = schema.Rule.model_validate(item)
        except ValidationError as exc:
            cc.validation(here, exc, schema.Rule)
            continue
        if rule.name in seen:
            first = cc.source.where(("rules", seen[rule.name], "name"))
            cc.problem((*here, "name"), f"duplicate rule name '{rule.name}'",
                       f"first defined at {first[0]}:{first[1]}; names must be unique")
        seen.setdefault(rule.name, i)
        try:
            on = schema.parse_on(rule.on)
        except ValueError as exc:
            cc.problem((*here, on_key), str(exc))
            on = []
        when = conditions.build(rule.when, (*here, "when"), "when", cc)
        steps = [s for j, a in enumerate(rule.then) for s in actions.build(a, (*here, "then", j), cc)]
        if when is None:
            continue
        out.append(CompiledRule(
            index=len(out), name=rule.name, description=rule.description, enabled=rule.enabled,
            events=frozenset(e for e, _ in on), idle=frozenset(s for _, s in on if s),
            when=when, steps=tuple(steps), stop=rule.stop))
    return out


def _queue_info(raw: Any) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, body in (raw or {}).items() if isinstance(raw, dict) else ():
        body = body if isinstance(body, dict) else {}
        sla = body.get("sla") if isinstance(body.get("sla"), dict) else {}
        out[str(name)] = {"description": str(body.get("description", "")),
                          "first_response": str(sla.get("first_response") or ""),
                          "resolution": str(sla.get("resolution") or "")}
    return out


def _agent_names(raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        return {}
    return {str(k): str((v or {}).get("name") or k) if isinstance(v, dict) else str(k)
            for k, v in raw.items()}


def _version(data: Mapping[str, Any], *names: Collection[str]) -> str:
    blob = json.dumps([data, *(sorted(n) for n in names)], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]
