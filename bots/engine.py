"""`Bots.decide`: the bot stage after the rules, as a pure function of its inputs.

It reads the rules' decision and the conversation (with the bot state in its metadata)
and returns the decision to apply: the rules' actions, plus what the bots add (a FAQ
answer, "Did you mean", the hand-off and its reply, the away reply, the CSAT survey), minus
what must not go out (bot replies once a person has the conversation, a repeat of the last
reply, replies over the rate limit, anything to a bot). No I/O happens here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from bots.faq import Candidate
from bots.state import BotState
from router.domain.model import Action, Decision, DecisionContext, InboundKind, ReplyContent, Status

log = logging.getLogger(__name__)

SOURCE = "bots"
HUMAN_STATES = (Status.QUEUED, Status.ASSIGNED)
TAKEN_BY_RULES = ("route", "handoff", "assign", "resolve")


@dataclass(slots=True)
class Turn:
    """One decision being built: the rules' actions, ours, bookkeeping and the trace."""

    ctx: DecisionContext
    state: BotState
    language: str
    rules_actions: list[Action]
    added: list[Action] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    trace: list[dict[str, Any]] = field(default_factory=list)
    drop_rule_replies: bool = False
    # replies the guards already checked, by id; the action is kept so that a dropped
    # reply's id cannot be reused by a new one (which would then skip the guards)
    guarded: dict[int, Action] = field(default_factory=dict)

    def note(self, step: str, **detail: Any) -> None:
        self.trace.append({"stage": SOURCE, "step": step, **detail})

    def reply(self, content: ReplyContent, bot: str) -> None:
        self.added.append(Action("reply", content, source=f"{SOURCE}:{bot}"))

    def add(self, kind: str, value: Any, bot: str) -> None:
        self.added.append(Action(kind, value, source=f"{SOURCE}:{bot}"))

    @property
    def rules_replied(self) -> bool:
        return any(a.kind == "reply" for a in self.rules_actions)

    def rules_did(self, *kinds: str) -> bool:
        return any(a.kind in kinds for a in self.rules_actions)

    def queue(self, fallback: str) -> str:
        """The queue the conversation ends up in: the rules' last route, else its own."""
        for a in reversed(self.rules_actions):
            if a.kind in ("route", "prefer_queue"):
                return str(a.value)
            if a.kind == "handoff":
                q = a.value.get("queue") if isinstance(a.value, dict) else a.value
                if q:
                    return str(q)
        return self.ctx.conversation.queue or fallback

    def decision(self, rules: Decision) -> Decision:
        """Rules' actions (replies dropped if asked), ours before any `stop`, then meta."""
        kept = ([a for a in self.rules_actions if a.kind != "reply"] if self.drop_rule_replies
                else self.rules_actions)
        stop_at = len(kept)
        for i, a in enumerate(kept):
            if a.kind == "stop":
                stop_at = i
                break
        actions = [*kept[:stop_at], *self.added]
        if self.meta:
            actions.append(Action("meta", dict(self.meta), source=SOURCE))
        if stop_at < len(kept):
            actions.extend(kept[stop_at:])
        return Decision(actions=actions, language=rules.language, trace=[*rules.trace, *self.trace],
                        rules_version=rules.rules_version)


def is_csat_press(ctx: DecisionContext) -> bool:
    return ctx.message.kind == InboundKind.CALLBACK and ctx.message.callback_data.startswith("csat:")


def faq_choice(ctx: DecisionContext, state: BotState) -> str:
    """The entry the customer picked from "Did you mean": a button, or its number typed."""
    data = ctx.message.callback_data
    if ctx.message.kind == InboundKind.CALLBACK and data.startswith("faq:"):
        return data.removeprefix("faq:")
    text = ctx.message.text.strip().rstrip(".)")
    if state.suggested and text.isdigit() and 1 <= int(text) <= len(state.suggested):
        return state.suggested[int(text) - 1]
    return ""


def candidates_view(candidates: list[Candidate], answer_at: float, suggest_at: float,
                    margin: float, problem: str = "") -> list[dict[str, Any]]:
    """Candidates with the verdict the bot would reach, for `try` and the trace.

    `problem` is a word reporting that something went wrong ("wrong", "twice"): then the
    best candidate is suggested, never answered alone.
    """
    out = []
    for i, c in enumerate(candidates):
        runner_up = candidates[i + 1].score if i + 1 < len(candidates) else 0.0
        if i == 0 and c.score >= answer_at and c.score - runner_up >= margin and not (
                problem or c.not_about):
            verdict = "answer"
        elif c.score >= suggest_at:
            verdict = "suggest"
        else:
            verdict = "below"
        item = {"entry": c.entry_id, "score": c.score, "language": c.language,
                "question": c.question, "verdict": verdict}
        if problem and i == 0 and c.score >= answer_at:
            item["why"] = f"reports a problem ({problem!r}): suggested, not answered"
        elif c.not_about and i == 0 and c.score >= answer_at:
            item["why"] = (f"the entry is not about {c.not_about!r} (its not_about): "
                           "suggested, not answered")
        out.append(item)
    return out
