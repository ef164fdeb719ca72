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
import math
from collections import Counter
from collections.abc import Iterable
from datetime import timedelta
from itertools import repeat
from typing import TYPE_CHECKING

from rapidfuzz import fuzz, process

from bots.state import HANDOFF as HANDOFF_KEY
from bots.state import LAST_REPLY, REPLY_TIMES, stamp
from bots.text import fold
from bots.texts import literal_parts
from router.domain.model import Action, ReplyContent

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

    Before any comparable text is scored, an exact upper bound of `token_set_ratio`
    (`_bound`) drops the texts that cannot reach the threshold, for the whole window at
    once: it needs the letters shared by the two word sets and the length of their shared
    words. Both are sums of small integers per text, kept side by side in the fields of
    one Python int (a few big-int additions per message, no per-text loop), and compared
    with what the bound needs by adding a bias and testing each field's top bit. What
    passes is scored as before, so the scores are rapidfuzz's.
    """

    def __init__(self, texts: Iterable[str], threshold: float) -> None:
        corpus = {fold(literal_parts(t)) for t in texts}
        self._corpus = sorted(c for c in corpus if len(c.split()) >= MIN_ECHO_WORDS)
        self.threshold = threshold
        self._by_length = sorted(range(len(self._corpus)), key=lambda i: len(self._corpus[i]))
        self._lengths = [len(self._corpus[i]) for i in self._by_length]
        self._scaled = [0.6 * n for n in self._lengths]  # the same expression as `_comparable`
        # Per text, in `_by_length` order: its deduplicated words and their length joined
        # by spaces (what token_set_ratio compares).
        words = [set(self._corpus[i].split()) for i in self._by_length]
        self._set_lengths = [len(" ".join(w)) for w in words]
        # One field of `width` bits per text. Every value kept in a field (shared letters,
        # shared words' length + 1, what the bound needs: at most a message's and a
        # text's length together, and only messages up to longest / 0.6 reach here) stays
        # below the top bit, which flags "enough" once the bias is added.
        longest = max(self._lengths, default=0)
        self._width = width = max(16, (4 * longest + 8).bit_length() + 1)
        self._top_bit = 1 << (width - 1)
        # flags below text k (the top bit of each field): a window's flags are a xor
        self._flags = [0]
        for row in range(len(words)):
            self._flags.append(self._flags[-1] | (self._top_bit << (width * row)))
        # char -> per n, sum over texts of min(n, count of char in the text), packed: the
        # sum over a message's characters (n = its count) is the shared letters per text
        counts = [Counter(" ".join(w)) for w in words]
        self._letters: dict[str, list[int]] = {}
        for ch in sorted({ch for c in counts for ch in c}):
            most = max(c[ch] for c in counts)
            self._letters[ch] = [sum(min(n, c[ch]) << (width * row) for row, c in enumerate(counts))
                                 for n in range(most + 1)]
        # word -> (len(word) + 1) in the field of each text containing it: the sum over a
        # message's words is, per text, the length of the shared words joined, plus one
        self._postings: dict[str, int] = {}
        for row, w in enumerate(words):
            for word in w:
                self._postings[word] = self._postings.get(word, 0) + ((len(word) + 1) << (width * row))
        self._biases: dict[int, tuple[int, int]] = {}  # see `_bias`
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

    def _bias(self, length: int) -> tuple[int, int]:
        """For a message whose word set joins to `length` characters: per text, the
        fewest shared letters, and the fewest (shared words' length + 1), with which
        `_bound` still reaches the threshold (minus `BOUND_SLACK`, a superset), as biases:
        top bit - need, so that a field's top bit is set once its value is enough."""
        bias = self._biases.get(length)
        if bias is None:
            t = min(self.threshold, 100.0) - BOUND_SLACK  # above 100: nothing can pass
            top, width = self._top_bit, self._width
            letters = words = 0
            for row, n in enumerate(self._set_lengths):
                # 100 * (a + b - distance) / (a + b) >= t, distance = a + b - 2 * letters
                need_letters = (length + n) * (t / 200) - 1e-9
                # 200 * s / (s + min(a, b)) >= t, with s = words - 1
                need_words = 1 + min(length, n) * (t / (200 - t)) - 1e-9
                letters |= (top - min(top, max(0, math.ceil(need_letters)))) << (width * row)
                words |= (top - min(top, max(0, math.ceil(need_words)))) << (width * row)
            bias = (letters, words)
            if len(self._biases) < MAX_NEEDS:
                self._biases[length] = bias
        return bias

    def _candidates(self, folded: str, lo: int, hi: int) -> list[int]:
        """Indices (ascending) of the texts `_by_length[lo:hi]` whose `_bound` reaches the
        threshold: every text that can score at least the threshold is among them."""
        words = set(folded.split())
        joined = " ".join(words)
        letters = 0
        table = self._letters
        for ch, n in Counter(joined).items():
            sums = table.get(ch)
            if sums is not None:
                letters += sums[n] if n < len(sums) else sums[-1]
        shared = sum(map(self._postings.get, words, repeat(0)))
        bias_letters, bias_words = self._bias(len(joined))
        enough = ((letters + bias_letters) | (shared + bias_words)) & (self._flags[hi] ^ self._flags[lo])
        if not enough:
            return []
        rows = []
        width = self._width
        while enough:
            low = enough & -enough
            rows.append(self._by_length[(low.bit_length() - 1) // width])
            enough ^= low
        return sorted(rows)

    def _own(self, folded: str) -> float:
        """`_top(folded, self._corpus, threshold)`, scoring only comparable lengths first."""
        lo = bisect.bisect_left(self._lengths, 0.6 * len(folded))
        hi = bisect.bisect_right(self._scaled, len(folded))
        if lo >= hi:
            return 0.0  # no comparable text: none can count
        candidates = self._candidates(folded, lo, hi)
        if not candidates:
            return 0.0  # every comparable text scores below the threshold
        hits = process.extract(folded, {i: self._corpus[i] for i in candidates},
                               scorer=fuzz.token_set_ratio, score_cutoff=self.threshold, limit=1)
        if not hits:
            return 0.0
        _, score, first = hits[0]  # best score, lowest index among equals: extract's order
        # Scoring the whole corpus keeps the 3 best; texts of other lengths that rank
        # above this one can push it out of them (then nothing counts, as before).
        window = set(self._by_length[lo:hi])
        others = {i: c for i, c in enumerate(self._corpus) if i not in window}
        above = sum(1 for _, s, i in process.extract(folded, others, scorer=fuzz.token_set_ratio,
                                                      score_cutoff=score, limit=None)
                    if s > score or i < first)
        return float(score) if above < TOP else 0.0


MAX_NEEDS = 4096  # message lengths whose `_bias` is kept (at most the longest text / 0.6)
BOUND_SLACK = 1e-6  # rapidfuzz's float scores are within ~1e-13 of the exact ratio


def _bound(letters: int, words: int, length_a: int, length_b: int) -> float:
    """An exact upper bound of `fuzz.token_set_ratio(a, b)` on folded texts, from:

    - `length_a`, `length_b`: each side's deduplicated words joined by spaces, in length;
    - `letters`: characters those two joined strings share (sum of the smaller counts);
    - `words`: sum of len(word) + 1 over the words both sides have (0 when none).

    With s = words - 1 the shared words' joined length and x, y the other words' joined
    lengths (length_a = s + 1 + x when both parts are non-empty), rapidfuzz returns 100
    when one set contains the other, else the best of
      - 100 * (1 - indel(x words, y words) / (length_a + length_b)): the shared words
        cancel in the counts, so indel >= the L1 distance of the counts,
        length_a + length_b - 2 * letters;
      - 100 * 2s / (2s + 1 + x) = 200 s / (s + length_a), likewise for y (when s > 0);
        containment is the case s = min(length_a, length_b): 100.
    """
    total = length_a + length_b
    best = 100.0 * 2 * letters / total
    s = words - 1
    if s > 0:
        best = max(best, 200.0 * s / (s + min(length_a, length_b)))
    return best


def _comparable(found: str, folded: str) -> bool:
    # A customer quoting half a sentence of ours, or a long message containing a short
    # canned phrase, is not an echo: the lengths must be comparable as well.
    return 0.6 * len(found) <= len(folded) and len(found) >= 0.6 * len(folded)


def _top(folded: str, candidates: list[str], threshold: float) -> float:
    """Best score of a comparable text among the `TOP` most similar of `candidates`."""
    if len(candidates) <= TOP:
        # all of them are among the closest: only the comparable ones can count
        candidates = [c for c in candidates if _comparable(c, folded)]
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
    guarded = turn.guarded
    candidates = [a for a in (*([] if turn.drop_rule_replies else turn.rules_actions), *turn.added)
                  if a.kind == "reply" and isinstance(a.value, ReplyContent)
                  and id(a) not in guarded]
    if not candidates:
        return ""  # nothing to drop or book
    # per contact, not per conversation: the pipeline passes the bot's replies to this
    # contact on every channel; this conversation's own bookkeeping covers what the same
    # message's earlier events said (the same reply in both counts once)
    mine = state.replies_within(ctx.now, window)
    theirs = [t for t in ctx.contact_bot_replies if ctx.now - t < window]
    if mine and theirs:
        recent, other = sorted(mine), sorted(theirs)
        if recent != other:  # equal multisets (one conversation per contact) are their union
            recent = sorted((Counter(mine) | Counter(theirs)).elements())  # max count per instant
    else:
        recent = sorted(mine or theirs)  # a union with an empty multiset is the other one
    last = state.last_reply
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
    guarded.update((id(a), a) for a in candidates)
    if sent:
        times = [stamp(t) for t in recent] + [stamp(ctx.now)] * len(sent)
        turn.meta[LAST_REPLY] = sent[-1]
        turn.meta[REPLY_TIMES] = times[-max_replies:]
    if dropped and not sent and not any(a.kind == "handoff" for a in (*turn.rules_actions, *turn.added)):
        turn.add("handoff", {"queue": None, "reason": dropped[0][1]}, "guard")
        turn.meta[HANDOFF_KEY] = dropped[0][1]
        return dropped[0][1]
    return ""
