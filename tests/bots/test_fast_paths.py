"""Cheaper per-message bookkeeping gives the same results as the code it replaced.

`BotState.read` and `guard_replies` run for every message; their previous definitions
are written out here and compared with the current ones on random inputs.
"""

from __future__ import annotations

import copy
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from bots.engine import Turn
from bots.guards import guard_replies
from bots.state import (
    AWAY_SENT,
    CSAT,
    FAILURES,
    HANDOFF,
    LAST_REPLY,
    LOOP,
    REPLY_TIMES,
    SUGGESTED,
    BotState,
    stamp,
)
from bots.text import fold
from router.domain.model import Action, Decision, ReplyContent
from router.store.base import parse_ts
from tests.bots.helpers import NOW, ctx

HANDOFF_KEY = HANDOFF


def previous_read(meta: dict[str, Any]) -> BotState:
    """`BotState.read` before commit "bots: cheaper state reading ..."."""
    times = [t for t in (parse_ts(str(v)) for v in meta.get(REPLY_TIMES, ()) or ()) if t]
    return BotState(
        failures=int(meta.get(FAILURES, 0) or 0), away_sent=bool(meta.get(AWAY_SENT)),
        last_reply=str(meta.get(LAST_REPLY, "") or ""), reply_times=times,
        suggested=[str(s) for s in meta.get(SUGGESTED, ()) or ()],
        handoff=str(meta.get(HANDOFF, "") or ""), loop=bool(meta.get(LOOP)),
        csat=dict(meta.get(CSAT) or {}),
    )


def previous_guard_replies(turn: Turn, *, max_replies: int, window: timedelta) -> str:
    """`guard_replies` before the early exit and the one-sided union."""
    ctx, state = turn.ctx, turn.state
    mine = Counter(state.replies_within(ctx.now, window))
    theirs = Counter(t for t in ctx.contact_bot_replies if ctx.now - t < window)
    recent = sorted((mine | theirs).elements())
    last = state.last_reply
    candidates = [a for a in (*([] if turn.drop_rule_replies else turn.rules_actions), *turn.added)
                  if a.kind == "reply" and isinstance(a.value, ReplyContent)
                  and id(a) not in turn.guarded]
    dropped: list[tuple[Action, str]] = []
    sent: list[str] = []
    for action in candidates:
        text = action.value.text
        if fold(text) == fold(last):
            dropped.append((action, "repeated"))
        elif len(recent) + len(sent) >= max_replies:
            dropped.append((action, "rate_limit"))
        else:
            sent.append(text)
            last = text
    for action, reason in dropped:
        turn.note("reply_dropped", reason=reason, reply=action.value.reply_id or action.source)
        if action in turn.added:
            turn.added.remove(action)
        else:
            turn.rules_actions.remove(action)
    turn.guarded.update((id(a), a) for a in candidates)
    if sent:
        times = [stamp(t) for t in recent] + [stamp(ctx.now)] * len(sent)
        turn.meta[LAST_REPLY] = sent[-1]
        turn.meta[REPLY_TIMES] = times[-max_replies:]
    if dropped and not sent and not any(a.kind == "handoff" for a in (*turn.rules_actions, *turn.added)):
        turn.add("handoff", {"queue": None, "reason": dropped[0][1]}, "guard")
        turn.meta[HANDOFF_KEY] = dropped[0][1]
        return dropped[0][1]
    return ""


def random_meta(rng: random.Random) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    options: dict[str, list[Any]] = {
        FAILURES: [0, 1, 2, None, "3", 5],
        AWAY_SENT: ["", stamp(NOW), None, True],
        LAST_REPLY: ["", "Hello there", None, 42],
        REPLY_TIMES: [[], None, [stamp(NOW)], [stamp(NOW - timedelta(minutes=5)), stamp(NOW), ""],
                      ("2026-03-25T09:00:00.000000Z",), ["2026-03-25T09:30:00.123456Z", ""]],
        SUGGESTED: [[], None, ["a", "b"], ("x",), [1, 2]],
        HANDOFF: ["", "rule", None],
        LOOP: [False, True, None, 1],
        CSAT: [None, {}, {"expires": stamp(NOW)}],
        "other.key": [1, "x"],
    }
    for key, values in options.items():
        if rng.random() < 0.6:
            meta[key] = rng.choice(values)
    return meta


def test_state_read_equals_the_previous_definition():
    rng = random.Random(7)
    for _ in range(5000):
        meta = random_meta(rng)
        assert BotState.read(meta) == previous_read(meta), meta
    assert BotState.read({}) == previous_read({})


TEXTS = ["Hello there", "hello there!", "Your invoice is on its way", "A person will answer", ""]


def random_turn(rng: random.Random) -> tuple[Turn, int, timedelta]:
    window = timedelta(minutes=rng.choice((5, 30, 60)))
    instants = [NOW - timedelta(minutes=m) for m in (0, 1, 1, 2, 10, 40, 90)]
    mine = sorted(rng.choice(instants) for _ in range(rng.randrange(5)))
    theirs = tuple(rng.choice(instants) for _ in range(rng.randrange(5)))
    if rng.random() < 0.3:
        theirs = tuple(mine)  # this conversation's replies, as the pipeline reports them
    meta = {REPLY_TIMES: [stamp(t) for t in mine], LAST_REPLY: rng.choice(TEXTS)}
    c = ctx("hi", metadata=meta)
    c = type(c)(message=c.message, conversation=c.conversation, contact=c.contact, now=c.now,
                event=c.event, contact_bot_replies=theirs)
    actions = []
    for _ in range(rng.randrange(4)):
        kind = rng.choice(("reply", "reply", "route", "handoff", "tag"))
        value = (ReplyContent(rng.choice(TEXTS), reply_id=rng.choice(("", "faq:x")))
                 if kind == "reply" else "general")
        actions.append(Action(kind, value, source="rules"))
    turn = Turn(c, BotState.read(meta), "en", actions)
    for _ in range(rng.randrange(3)):
        turn.reply(ReplyContent(rng.choice(TEXTS), reply_id="faq:y"), "faq")
    turn.drop_rule_replies = rng.random() < 0.2
    return turn, rng.choice((1, 2, 3, 8)), window


def outcome(turn: Turn) -> tuple[Any, ...]:
    return (turn.rules_actions, turn.added, turn.meta, turn.trace,
            sorted(turn.guarded) == sorted(id(a) for a in turn.guarded.values()))


def test_guard_replies_equals_the_previous_definition():
    rng = random.Random(11)
    for _ in range(5000):
        turn, max_replies, window = random_turn(rng)
        other = copy.copy(turn)
        other.rules_actions, other.added = list(turn.rules_actions), list(turn.added)
        other.meta, other.trace, other.guarded = {}, [], {}
        for _ in range(2):  # twice: the second call sees what the first one booked
            got = guard_replies(turn, max_replies=max_replies, window=window)
            want = previous_guard_replies(other, max_replies=max_replies, window=window)
            assert got == want
            assert outcome(turn) == outcome(other)
            if rng.random() < 0.5:
                for t in (turn, other):
                    t.reply(ReplyContent("A person will answer", reply_id="handoff"), "handoff")


def test_the_one_sided_union_keeps_repeated_instants():
    at = datetime(2026, 3, 25, 9, 59, tzinfo=UTC)
    assert sorted(Counter([at, at]) | Counter()) == [at]  # keys only ...
    assert sorted((Counter([at, at]) | Counter()).elements()) == [at, at]  # ... elements count


def previous_decision(turn: Turn, rules: Decision) -> Decision:
    """`Turn.decision` before it skipped the copy and the generator."""
    kept = [a for a in turn.rules_actions if not (turn.drop_rule_replies and a.kind == "reply")]
    stop_at = next((i for i, a in enumerate(kept) if a.kind == "stop"), len(kept))
    actions = [*kept[:stop_at], *turn.added]
    if turn.meta:
        actions.append(Action("meta", dict(turn.meta), source="bots"))
    actions.extend(kept[stop_at:])
    return Decision(actions=actions, language=rules.language, trace=[*rules.trace, *turn.trace],
                    rules_version=rules.rules_version)


def test_decision_equals_the_previous_definition():
    rng = random.Random(5)
    for _ in range(5000):
        turn, _, _ = random_turn(rng)
        for _ in range(rng.randrange(3)):
            turn.rules_actions.insert(rng.randrange(len(turn.rules_actions) + 1),
                                      Action("stop", None, source="rules"))
        if rng.random() < 0.5:
            turn.meta[LAST_REPLY] = "x"
        if rng.random() < 0.5:
            turn.note("faq", candidates=[])
        rules = Decision(actions=list(turn.rules_actions), language=rng.choice(("", "sv")),
                         trace=[{"rule": "r"}] * rng.randrange(3), rules_version="v1")
        got = turn.decision(rules)
        assert got == previous_decision(turn, rules)
        assert got.actions is not turn.rules_actions and got.trace is not rules.trace
