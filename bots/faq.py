"""Fuzzy FAQ matching: which knowledge-base entry does a customer message ask about?

Scoring is word-level and IDF-weighted rather than one string ratio over the whole text:
a whole-string ratio rewards sharing filler ("how do I ...") and punishes inflection
("lasku" / "laskun" / "laskua"), which are exactly wrong for our five languages. Each
query word is paired with its most similar word of a question variant (rapidfuzz ratio,
plus a shared-stem rule for Finnish and Ukrainian endings); the score is an F-measure of
how much of the query is covered (weighted more) and how much of the variant is covered.
Words the knowledge base never uses count against the match, which keeps off-topic
messages below the thresholds: precision matters more than recall, because a wrong
automatic answer is worse than a hand-off.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from rapidfuzz import fuzz

from bots.schema import FaqEntry, FaqSettings
from bots.text import tokens

QUERY_WEIGHT = 1.0  # beta of the F-measure: 1 weighs query and question coverage alike
MIN_WORD_SIMILARITY = 0.8


@dataclass(frozen=True, slots=True)
class Candidate:
    entry_id: str
    score: float  # 0-100
    language: str  # language of the best-matching question variant
    question: str


@dataclass(frozen=True, slots=True)
class _Variant:
    entry_id: str
    language: str
    text: str
    words: tuple[str, ...]


def word_similarity(a: str, b: str) -> float:
    """1.0 for equal words, ~0.9 for a shared stem, the rapidfuzz ratio if close, else 0."""
    if a == b:
        return 1.0
    shorter = min(len(a), len(b))
    prefix = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        prefix += 1
    if shorter >= 4 and prefix >= max(4, math.ceil(shorter * 0.75)):
        return 0.9
    ratio = fuzz.ratio(a, b) / 100
    return ratio if ratio >= MIN_WORD_SIMILARITY and shorter >= 4 else 0.0


class FaqIndex:
    """The compiled knowledge base; `match` is pure and fast enough for every message."""

    def __init__(self, settings: FaqSettings) -> None:
        self.settings = settings
        self.entries: dict[str, FaqEntry] = {e.id: e for e in settings.entries}
        self._variants = [
            _Variant(e.id, lang, q, tuple(tokens(q)))
            for e in settings.entries for lang, qs in e.questions.items() for q in qs if q.strip()
        ]
        df: dict[str, set[str]] = defaultdict(set)
        for v in self._variants:
            for w in v.words:
                df[w].add(v.entry_id)
        n = max(1, len(self.entries))
        self._idf = {w: math.log(1 + n / len(ids)) for w, ids in df.items()}
        # An unseen word says "this is about something else", but typos and small talk are
        # unseen too: half the weight of the rarest known word balances the two.
        self._unknown_idf = 0.5 * math.log(1 + n)

    def idf(self, word: str) -> float:
        return self._idf.get(word, self._unknown_idf)

    def match(self, text: str, limit: int = 5) -> list[Candidate]:
        """Entries ranked by score (best variant per entry), best first."""
        query = tuple(dict.fromkeys(tokens(text)))
        if not query or not self._variants:
            return []
        cache: dict[tuple[str, str], float] = {}

        def sim(a: str, b: str) -> float:
            key = (a, b)
            if key not in cache:
                cache[key] = word_similarity(a, b)
            return cache[key]

        best: dict[str, Candidate] = {}
        for v in self._variants:
            score = self._score(query, v.words, sim)
            current = best.get(v.entry_id)
            if current is None or score > current.score:
                best[v.entry_id] = Candidate(v.entry_id, round(score, 1), v.language, v.text)
        ranked = sorted((c for c in best.values() if c.score > 0),
                        key=lambda c: (-c.score, c.entry_id))
        return ranked[:limit]

    def _score(self, query: tuple[str, ...], words: tuple[str, ...], sim) -> float:  # type: ignore[no-untyped-def]
        if not words:
            return 0.0
        q_total = sum(self.idf(q) for q in query)
        v_total = sum(self.idf(w) for w in words)
        q_hit = sum(self.idf(q) * max(sim(q, w) for w in words) for q in query)
        v_hit = sum(self.idf(w) * max(sim(w, q) for q in query) for w in words)
        recall, precision = q_hit / q_total, v_hit / v_total
        if recall == 0 or precision == 0:
            return 0.0
        b2 = QUERY_WEIGHT**2
        return 100 * (1 + b2) * precision * recall / (b2 * precision + recall)

    def score_by_language(self, text: str, entry_id: str) -> dict[str, float]:
        """Best score per question language of one entry (chooses the answer language)."""
        query = tuple(dict.fromkeys(tokens(text)))
        out: dict[str, float] = {}
        for v in self._variants:
            if v.entry_id == entry_id and query:
                s = self._score(query, v.words, word_similarity)
                out[v.language] = max(out.get(v.language, 0.0), s)
        return out
