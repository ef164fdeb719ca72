"""Loop and noise guards: never talk to ourselves, never repeat, never flood.

Machines that announce themselves (auto-replies, `is_bot`, mailer-daemon) are stopped by
the pipeline before any decision. What is left is the bot that does not announce itself,
for instance another copy of this service, or a platform echoing our own reply back.
`EchoDetector` recognises our own texts coming back (FAQ answers, canned replies in every
language, the last reply we sent); the reply guards then make sure that even an unknown
bot ends the conversation quickly: an identical consecutive reply is never sent, and a
contact gets at most `rate_limit.max_replies` bot replies per window.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING

from rapidfuzz import fuzz, process

from bots.state import HANDOFF as HANDOFF_KEY
from bots.state import LAST_REPLY, REPLY_TIMES, stamp
from bots.text import fold
from bots.texts import literal_parts
from router.model import Action, ReplyContent

if TYPE_CHECKING:
    from bots.engine import Turn

MIN_ECHO_WORDS = 4  # "ok", "tack", "kiitos" are never taken for a bot's text
TOP = 3  # closest own texts whose lengths are checked


class EchoDetector:
    """Is a customer message really one of our own texts coming back?

    It runs on every message a bot may answer, so the corpus is ordered by length once:
    only texts of comparable length can count (see `_top`), and only those are scored,
    in rapidfuzz's C loop. The rest are scored only when one of those passes, to keep the
    exact top-3 semantics of scoring the whole corpus.
    """

    def __init__(self, texts: Iterable[str], threshold: float) -> None:
        corpus = {fold(literal_parts(t)) for t in texts}
        self._corpus = sorted(c for c in corpus if len(c.split()) >= MIN_ECHO_WORDS)
        self.threshold = threshold
        self._by_length = sorted(range(len(self._corpus)), key=lambda i: len(self._corpus[i]))
        self._lengths = [len(self._corpus[i]) for i in self._by_length]
        self._scaled = [0.6 * n for n in self._lengths]  # the same expression as `_comparable`
        # The pipeline decides a conversation's first message twice (`conversation_opened`,
        # `message`) on the same text: the last answer is kept (a pure function of its key).
        self._last: tuple[tuple[str, tuple[str, ...]] | None, float] = (None, 0.0)

    def match(self, text: str, *, also: Iterable[str] = ()) -> float:
        """The similarity (0-100) to the closest own text; 0 when below the threshold."""
        folded = fold(text)
        if len(folded.split()) < MIN_ECHO_WORDS:
            return 0.0
        extra = [fold(t) for t in also if t]
        key = (folded, tuple(extra))
        last = self._last
        if last[0] == key:
            return last[1]
        score = max(_top(folded, extra, self.threshold), self._own(folded))
        self._last = (key, score)  # one atomic swap
        return score

    def _own(self, folded: str) -> float:
        """`_top(folded, self._corpus, threshold)`, scoring only comparable lengths first."""
        lo = bisect.bisect_left(self._lengths, 0.6 * len(folded))
        hi = bisect.bisect_right(self._scaled, len(folded))
        window = {i: self._corpus[i] for i in sorted(self._by_length[lo:hi])}
        hits = process.extract(folded, window, scorer=fuzz.token_set_ratio,
                               score_cutoff=self.threshold, limit=1)
        if not hits:
            return 0.0
        _, score, first = hits[0]  # best score, lowest index among equals: extract's order
        # Scoring the whole corpus keeps the 3 best; texts of other lengths that rank
        # above this one can push it out of them (then nothing counts, as before).
        others = {i: c for i, c in enumerate(self._corpus) if i not in window}
        above = sum(1 for _, s, i in process.extract(folded, others, scorer=fuzz.token_set_ratio,
                                                      score_cutoff=score, limit=None)
                    if s > score or i < first)
        return float(score) if above < TOP else 0.0


def _comparable(found: str, folded: str) -> bool:
    # A customer quoting half a sentence of ours, or a long message containing a short
    # canned phrase, is not an echo: the lengths must be comparable as well.
    return 0.6 * len(found) <= len(folded) and len(found) >= 0.6 * len(folded)


def _top(folded: str, candidates: list[str], threshold: float) -> float:
    """Best score of a comparable text among the `TOP` most similar of `candidates`."""
    if not candidates:
        return 0.0
    # token_set_ratio: a template filled with a date or a wait still matches the
    # template's words.
    best = 0.0
    for found, score, _ in process.extract(folded, candidates, scorer=fuzz.token_set_ratio,
                                           score_cutoff=threshold, limit=TOP):
        if _comparable(found, folded):
            best = max(best, float(score))
    return best


def guard_replies(turn: Turn, *, max_replies: int, window: timedelta) -> str:
    """Drop repeats of the last reply and replies over the rate limit; book what is sent.

    When nothing is left to say, the conversation goes to a person and the reason is
    returned (`repeated` or `rate_limit`, else ''): a customer who would get the same
    answer twice, or a party that keeps talking to the bot, needs a human, not silence.
    Replies already booked by an earlier call are not counted twice.
    """
    ctx, state = turn.ctx, turn.state
    # per contact, not per conversation: the pipeline passes the bot's replies to this
    # contact on every channel; this conversation's own bookkeeping covers what the same
    # message's earlier events said (the same reply in both counts once)
    mine = Counter(state.replies_within(ctx.now, window))
    theirs = Counter(t for t in ctx.contact_bot_replies if ctx.now - t < window)
    recent = sorted((mine | theirs).elements())  # multiset union: max count per instant
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
