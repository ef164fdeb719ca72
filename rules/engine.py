"""The compiled rule set: a pure function from a `DecisionContext` to a `Decision`.

Cost per message must not grow with the number of rules, so rules are not all tried in
turn. Each rule's condition is analysed at load: a rule that cannot match unless one of
its keywords occurs is filed under those keywords. Per message the keyword automaton
runs once, and only rules without such a requirement plus those whose keywords were found
are evaluated, in file order. A `RuleSet` never changes after compilation, so swapping
the reference is an atomic reload.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from router.domain.model import Action, Decision, DecisionContext, ReplyContent
from rules import actions, templates
from rules.conditions import Node
from rules.facts import Facts
from rules.keywords import KeywordIndex, normalize
from rules.language import Detector
from rules.replies import ReplyBook

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    index: int
    name: str
    description: str
    enabled: bool
    events: frozenset[str]
    idle: frozenset[float]  # thresholds in seconds, for conversation_idle
    when: Node
    steps: tuple[actions.Step, ...]
    stop: bool

    @property
    def trigger(self) -> frozenset[int] | None:
        return self.when.required_keywords()


@dataclass
class _Bucket:
    """The rules one event can trigger, indexed by the keywords they require."""

    rules: list[int] = field(default_factory=list)
    always: list[int] = field(default_factory=list)
    by_keyword: dict[int, list[int]] = field(default_factory=dict)

    def add(self, rule: CompiledRule) -> None:
        self.rules.append(rule.index)
        trigger = rule.trigger
        if trigger is None:
            self.always.append(rule.index)
        else:
            for kw in trigger:
                self.by_keyword.setdefault(kw, []).append(rule.index)

    def candidates(self, found: Iterable[int]) -> list[int]:
        hits = [self.by_keyword[k] for k in found if k in self.by_keyword]
        if not hits:
            return self.always
        merged = set(self.always)
        for group in hits:
            merged.update(group)
        return sorted(merged)


@dataclass(frozen=True)
class Explanation:
    """What `try` shows: the decision plus how the language was chosen."""

    decision: Decision
    detected: str
    confidence: float


class RuleSet:
    """Compiled rules, replies, business hours and language detection (see module doc)."""

    def __init__(self, *, version: str, rules: list[CompiledRule], keywords: KeywordIndex,
                 book: ReplyBook, detector: Detector) -> None:
        self.version = version
        self.rules: tuple[CompiledRule, ...] = tuple(rules)
        self.languages = detector.languages
        self.default_language = detector.default
        self._keywords = keywords
        self._book = book
        self._detector = detector
        self._buckets: dict[str, _Bucket] = {}
        self._idle: dict[float, _Bucket] = {}
        for rule in self.rules:
            if not rule.enabled:
                continue
            for event in rule.events:
                if event != "conversation_idle":
                    self._buckets.setdefault(event, _Bucket()).add(rule)
            for threshold in rule.idle:
                self._idle.setdefault(threshold, _Bucket()).add(rule)
        self.idle_thresholds: tuple[float, ...] = tuple(sorted(self._idle))

    @property
    def timezone(self) -> Any:
        """The business-hours timezone (a ZoneInfo); `try --at` reads local times in it."""
        return self._book.schedule.tz

    @property
    def reply_ids(self) -> tuple[str, ...]:
        return tuple(self._book.replies)

    # --- the contract's helpers ---------------------------------------------------------

    def is_open(self, now: datetime) -> bool:
        return self._book.schedule.is_open(now)

    def next_opening(self, now: datetime) -> datetime | None:
        return self._book.schedule.next_opening(now)

    def detect_language(self, text: str, *, hint: str = "", previous: str = "") -> tuple[str, float]:
        return self._detector.detect(text, hint=hint, previous=previous)

    def render_reply(self, reply_id: str, *, language: str, channel: str,
                     ctx: DecisionContext) -> ReplyContent:
        """Render a canned reply for `channel` (bots, agent console). KeyError if unknown."""
        variables = self._book.variables(ctx, language=language)
        return self._book.render(reply_id, language=language, channel=channel,
                                 variables=variables)

    # --- deciding -----------------------------------------------------------------------

    def decide(self, ctx: DecisionContext) -> Decision:
        """Evaluate the rules for `ctx.event`. Pure: no I/O, no clock, no randomness.

        The trace holds one entry per rule that was evaluated (rules the keyword index
        ruled out are not listed) with the deciding condition's path, plus its reason for
        rules that matched; `explain` lists every rule with reasons.
        """
        return self._run(ctx, full=False).decision

    def explain(self, ctx: DecisionContext) -> Explanation:
        """Like `decide`, but the trace lists every rule in order (for `try`)."""
        return self._run(ctx, full=True)

    def _language(self, ctx: DecisionContext) -> tuple[str, float]:
        previous = ctx.conversation.language or ctx.contact.language
        hint = ctx.message.sender.language_hint
        if ctx.event in ("message", "conversation_opened") and ctx.message.text.strip():
            return self._detector.detect(ctx.message.text, hint=hint, previous=previous)
        fallback = (previous if previous in self.languages else "") \
            or self._detector.match_hint(hint) or self.default_language
        return fallback, 0.0

    def _bucket(self, ctx: DecisionContext) -> _Bucket | None:
        if ctx.event != "conversation_idle":
            return self._buckets.get(ctx.event)
        idle = _idle_seconds(ctx)
        # the largest threshold reached: at 65 minutes a 1h rule fires, a 30m rule does not
        # fire again.
        i = bisect.bisect_right(self.idle_thresholds, idle)
        return self._idle[self.idle_thresholds[i - 1]] if i else None

    def _run(self, ctx: DecisionContext, *, full: bool) -> Explanation:
        detected, confidence = self._language(ctx)
        facts = Facts(ctx, self._book.schedule, detected)
        decision = Decision(rules_version=self.version)
        bucket = self._bucket(ctx)
        if bucket is not None:
            if bucket.by_keyword and facts.text:
                facts.normalized = normalize(facts.text)
                facts.found = self._keywords.scan(facts.normalized)
            order = bucket.rules if full else bucket.candidates(facts.found)
            self._evaluate(order, facts, decision, full)
        decision.language = facts.language
        return Explanation(decision, detected, confidence)

    def _evaluate(self, order: list[int], facts: Facts, decision: Decision, full: bool) -> None:
        stopped_by = ""
        for index in order:
            rule = self.rules[index]
            if stopped_by:
                decision.trace.append({"rule": rule.name, "matched": False, "actions": [],
                                       "decided_by": f"skipped: stopped by '{stopped_by}'"})
                continue
            ok, leaf = rule.when.eval(facts)
            # the reason is the costly part of a trace: `decide` gives it for rules that
            # matched, `explain` (try) for every rule
            decided_by = f"{leaf.path}: {leaf.reason(facts)}" if ok or full else leaf.path
            entry: dict[str, Any] = {"rule": rule.name, "matched": ok,
                                     "decided_by": decided_by, "actions": []}
            decision.trace.append(entry)
            if not ok:
                continue
            for step in rule.steps:
                entry["actions"].append(actions.describe(step))
                if step.kind == "stop":
                    stopped_by = rule.name
                    break
                action = self._action(step, facts, rule.name, entry)
                if action is not None:
                    decision.actions.append(action)
            if rule.stop:
                entry["actions"].append({"kind": "stop", "value": None})
                stopped_by = rule.name
            if stopped_by and not full:
                return

    def _action(self, step: actions.Step, facts: Facts, rule: str,
                entry: dict[str, Any]) -> Action | None:
        try:
            return actions.run(step, facts, self._book, rule)
        except (templates.TemplateProblem, KeyError) as exc:
            # Load-time checks make this rare (a contact field holding odd data); skip the
            # one action, keep the others, and say why in the trace.
            log.warning("rule %r: %s failed: %s", rule, step.kind, exc)
            entry.setdefault("errors", []).append(f"{step.kind}: {exc}")
            return None


def _idle_seconds(ctx: DecisionContext) -> float:
    for meta in (ctx.message.metadata, ctx.conversation.metadata):
        value = meta.get("idle_seconds") if isinstance(meta, Mapping) else None
        if value is not None:
            return float(value)
    return 0.0
