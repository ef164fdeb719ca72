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

Speed: `match` runs for every message a bot answers, inside the store's single writer,
so its cost is throughput lost one-for-one. The knowledge base is static per rule set,
so its distinct words (the vocabulary) are indexed once: each query word is compared
with the vocabulary once (rapidfuzz's C loop for the ratio, a 4-letter prefix bucket for
the stem rule), the resulting similarity row is cached across messages (customers reuse
words), and only the variants that share a similar word are scored. The scores are the
same floats as the pairwise definition (`word_similarity`, `_f_measure`): only terms that
are exactly zero are skipped, and the sums run in the same order.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Final

from rapidfuzz import fuzz, process

from bots.analyze import Analyzer
from bots.schema import FaqEntry, FaqSettings
from bots.text import fold

QUERY_WEIGHT = 1.0  # beta of the F-measure: 1 weighs query and question coverage alike
MIN_WORD_SIMILARITY = 0.8
MIN_FUZZY_LENGTH = 4  # shorter words only ever match exactly
ROW_CACHE = 8192  # similarity rows of distinct customer words kept across messages
SCORED_CACHE = 32  # messages whose variant scores are kept (one decision reads them twice)
TITLE_FACTOR = 1.0  # an entry's title is asked like a question ("Opening hours?")
ANSWER_FACTOR = 0.8  # a sentence of the answer is evidence, weaker than a question
UNKNOWN_WEIGHT = 0.8  # of the rarest known word's idf: see __init__
MIN_CLAUSE_TERMS = 2  # a clause with fewer content terms is not scored on its own
CLAUSE_FACTOR = 0.97  # a clause's score, slightly below the whole message's
_CLAUSES = re.compile(r"(?<=[.!?;:\n])\s+|\n+|,\s+(?:but|men|mutta|mutt|але|та|and|och|og|ja)\s+")
_SENTENCES = re.compile(r"(?<=[.!?;:])\s+|\n+")

Row = tuple[tuple[int, float], ...]  # (vocabulary id, similarity > 0), sparse


@dataclass(frozen=True, slots=True)
class Candidate:
    entry_id: str
    score: float  # 0-100
    language: str  # language of the best-matching question variant
    question: str
    not_about: str = ""  # a word of the message this entry says it does not cover


@dataclass(frozen=True, slots=True)
class _Variant:
    entry_id: str
    language: str
    text: str
    words: tuple[str, ...]
    ids: tuple[int, ...]  # vocabulary ids of `words`, same order
    weights: tuple[float, ...]  # idf of `words`, same order
    total: float  # sum of `weights`: the variant's side of the F-measure
    factor: float  # 1 for questions and titles, ANSWER_FACTOR for answer sentences


# Words of a problem report: "my invoice is wrong", "charged twice", "the parcel arrived
# damaged". The knowledge base's answers explain how things work; a report of something
# that went wrong shares their words but needs a person, so the bot only suggests there.
# Folded; words of 5 letters or more also match as prefixes (inflection).
_PROBLEM_TEXT: Final = """
wrong incorrect twice double damaged broken smashed missing declined rejected error errors
scam fraud stolen hacked overcharged charged faulty defective
fel felaktig felaktigt felaktiga dubbelt trasig trasigt trasiga skadad skadat skadade sonder
saknas nekad nekades avvisad avvisades bedrageri stulen stulet stulna hackad debiterad
debiterades dubbeldebiterad
vaara vaarin virhe virheellinen kahdesti rikki rikkinainen vaurioitunut puuttuu hylatty
hylattiin huijaus varastettu kaapannut veloitettu veloititte veloitettiin
feil feilaktig dobbelt odelagt skadet knust mangler avvist avvistes avslatt svindel stjalet
hacket belastet trukket upptaget opptatt varattu busy
неправильн невірн помилк двічі пошкоджен розбит бракує відхилен відхиля шахра вкрали списали зайнято
продовжил
"""
PROBLEM_WORDS: Final = frozenset(fold(w) for w in _PROBLEM_TEXT.split())


def problem_word(text: str) -> str:
    """The first word of `text` that reports a problem, or ''."""
    for word in fold(text).split():
        if word in PROBLEM_WORDS:
            return word
        if len(word) >= 5 and _PROBLEM_PREFIX.match(word):
            return word
    return ""


# one compiled alternation instead of a startswith per prefix per word
_PROBLEM_PREFIX: Final = re.compile("|".join(
    re.escape(p) for p in sorted((p for p in PROBLEM_WORDS if len(p) >= 5), key=len, reverse=True)))


def word_similarity(a: str, b: str) -> float:
    """1.0 for equal words, ~0.9 for a shared stem, the rapidfuzz ratio if close, else 0.

    The reference definition; `FaqIndex` computes the same values a vocabulary at a time.
    """
    if a == b:
        return 1.0
    shorter = min(len(a), len(b))
    if shorter >= MIN_FUZZY_LENGTH and _shared_stem(a, b):
        return 0.9
    ratio = fuzz.ratio(a, b) / 100
    return ratio if ratio >= MIN_WORD_SIMILARITY and shorter >= MIN_FUZZY_LENGTH else 0.0


def _shared_stem(a: str, b: str) -> bool:
    """A common prefix of at least 4 letters and 3/4 of the shorter word."""
    shorter = min(len(a), len(b))
    need = max(MIN_FUZZY_LENGTH, math.ceil(shorter * 0.75))
    return a[:need] == b[:need]


def _f_measure(q_hit: float, q_total: float, v_hit: float, v_total: float) -> float:
    recall, precision = q_hit / q_total, v_hit / v_total
    if recall == 0 or precision == 0:
        return 0.0
    b2 = QUERY_WEIGHT**2
    return 100 * (1 + b2) * precision * recall / (b2 * precision + recall)


class NotAbout:
    """An entry's `not_about` words, ready to be looked for in a message's terms.

    Set operations first: which of the words' terms the message has at all (exactly or,
    from `MIN_FUZZY_LENGTH` letters, as a prefix of one of its terms, built only at the
    lengths those terms have); a word then needs only a subset test. A message has
    none of them, the usual case, with two intersections (a generator per word and a
    prefix of every length of every term had cost 3-5 % of the service's CPU at 900
    messages a second, issue 28)."""

    def __init__(self, phrases: tuple[tuple[str, tuple[str, ...]], ...]) -> None:
        self.phrases = tuple((word, frozenset(terms)) for word, terms in phrases)
        self.terms = frozenset(t for _, terms in phrases for t in terms)
        self.long_terms = frozenset(t for t in self.terms if len(t) >= MIN_FUZZY_LENGTH)
        self.lengths = tuple(sorted({len(t) for t in self.long_terms}))

    def first_in(self, terms: set[str]) -> str | None:
        """The first word (as written) whose every term the message has, or None."""
        present = self.terms & terms
        if self.long_terms:
            prefixes = {t[:k] for t in terms for k in self.lengths if len(t) >= k}
            present |= self.long_terms & prefixes
        if not present:
            return None
        return next((word for word, needed in self.phrases if needed <= present), None)


class FaqIndex:
    """The compiled knowledge base; `match` is pure and fast enough for every message."""

    def __init__(self, settings: FaqSettings, default_language: str = "en") -> None:
        self.settings = settings
        self.default_language = default_language
        self.entries: dict[str, FaqEntry] = {e.id: e for e in settings.entries}
        self.analyzer = Analyzer(settings.synonyms, default_language)
        evidence = [(e.id, lang, q, 1.0)
                    for e in settings.entries for lang, qs in e.questions.items() for q in qs]
        evidence += [(e.id, lang, t, TITLE_FACTOR) for e in settings.entries
                     for lang, t in e.title.items()]
        evidence += [(e.id, lang, s, ANSWER_FACTOR) for e in settings.entries
                     for lang, a in e.answers.items() for s in _SENTENCES.split(a)]
        raw = [(entry_id, lang, text, self.analyzer.terms(text, lang), factor)
               for entry_id, lang, text, factor in evidence if text.strip()]
        raw = [r for r in raw if r[3]]
        df: dict[str, set[str]] = defaultdict(set)
        for entry_id, _, _, words, _ in raw:
            for w in words:
                df[w].add(entry_id)
        n = max(1, len(self.entries))
        self._idf = {w: math.log(1 + n / len(ids)) for w, ids in df.items()}
        # An unseen word says "this is about something else", but typos and small talk are
        # unseen too: half the weight of the rarest known word balances the two.
        self._unknown_idf = UNKNOWN_WEIGHT * math.log(1 + n)
        self._vocab: list[str] = list(df)
        self.analyzer.set_vocabulary(self._vocab)
        self._vocab_id = {w: i for i, w in enumerate(self._vocab)}
        self._variants = [
            _Variant(entry_id, lang, text, words, tuple(self._vocab_id[w] for w in words),
                     tuple(self.idf(w) for w in words), sum(self.idf(w) for w in words), factor)
            for entry_id, lang, text, words, factor in raw]
        postings: dict[int, list[int]] = defaultdict(list)  # vocabulary id -> variants
        for index, v in enumerate(self._variants):
            for wid in dict.fromkeys(v.ids):
                postings[wid].append(index)
        self._postings = {wid: tuple(vs) for wid, vs in postings.items()}
        by_entry_language: dict[tuple[str, str], list[int]] = defaultdict(list)
        for index, v in enumerate(self._variants):
            by_entry_language[(v.entry_id, v.language)].append(index)
        self._by_entry_language = {k: tuple(vs) for k, vs in by_entry_language.items()}
        # a message is scored once per decision: `match`, then `score_in_language` for
        # the answer's language, read the same scores
        self._scored = lru_cache(maxsize=SCORED_CACHE)(self._scored_uncached)
        self._fuzzy_vocab = [w if len(w) >= MIN_FUZZY_LENGTH else "" for w in self._vocab]
        stems: dict[str, list[int]] = defaultdict(list)
        for wid, w in enumerate(self._vocab):
            if len(w) >= MIN_FUZZY_LENGTH:
                stems[w[:MIN_FUZZY_LENGTH]].append(wid)
        self._stems = {k: tuple(v) for k, v in stems.items()}
        self._row = lru_cache(maxsize=ROW_CACHE)(self._similar_words)
        self._not_about = {e.id: NotAbout(self._not_about_phrases(e))
                           for e in settings.entries if e.not_about}

    def _not_about_phrases(self, entry: FaqEntry) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """(word as written, its terms) per `not_about` item, except those the entry's own
        questions use: an entry cannot be "not about" what it is asked with."""
        own = {t for lang, qs in entry.questions.items() for q in qs
               for t in self.analyzer.terms(q, lang)}
        out = []
        for lang, words in entry.not_about.items():
            for word in words:
                terms = self.analyzer.terms(word, lang)
                if terms and not set(terms) <= own:
                    out.append((word, terms))
        return tuple(out)

    def idf(self, word: str) -> float:
        return self._idf.get(word, self._unknown_idf)

    @property
    def variant_count(self) -> int:
        return len(self._variants)

    def clear_cache(self) -> None:
        """Forget the cached similarity rows (the FAQ benchmark's cold case)."""
        self._row.cache_clear()
        self._scored.cache_clear()

    def _scored_uncached(self, text: str, language: str
                         ) -> tuple[tuple[tuple[str, ...], float, dict[int, float]], ...]:
        """(query terms, factor, score per variant) for the message and each clause."""
        return tuple((query, factor, self._scores(query))
                     for query, factor in self.queries(text, language))

    def _similar_words(self, word: str) -> Row:
        """Vocabulary words similar to `word`, with `word_similarity(word, w)` > 0."""
        row: dict[int, float] = {}
        if len(word) >= MIN_FUZZY_LENGTH:
            # The ratio first, then the stem rule and equality override it, exactly as
            # `word_similarity` gives them precedence. The cutoff only prunes: each kept
            # pair is re-scored with the same call as the pairwise definition.
            cutoff = MIN_WORD_SIMILARITY * 100 - 1
            for w, _, wid in process.extract(word, self._fuzzy_vocab, scorer=fuzz.ratio,
                                             score_cutoff=cutoff, limit=None):
                ratio = fuzz.ratio(word, w) / 100
                if ratio >= MIN_WORD_SIMILARITY:
                    row[wid] = ratio
            for wid in self._stems.get(word[:MIN_FUZZY_LENGTH], ()):
                if _shared_stem(word, self._vocab[wid]):
                    row[wid] = 0.9
        exact = self._vocab_id.get(word)
        if exact is not None:
            row[exact] = 1.0
        return tuple(row.items())

    def _scores(self, query: tuple[str, ...],
                variants: Iterable[int] | None = None) -> dict[int, float]:
        """F-measure per variant with any similar word (all of `variants` if given)."""
        rows = [self._row(q) for q in query]
        q_total = sum(self.idf(q) for q in query)
        q_hit: dict[int, float] = {}
        column: dict[int, float] = {}  # vocabulary id -> best similarity to any query word
        for q, row in zip(query, rows, strict=True):
            weight = self.idf(q)
            best: dict[int, float] = {}  # variant -> best similarity of q to its words
            for wid, s in row:
                if s > column.get(wid, 0.0):
                    column[wid] = s
                for v in self._postings.get(wid, ()):
                    if s > best.get(v, 0.0):
                        best[v] = s
            for v, s in best.items():
                q_hit[v] = q_hit.get(v, 0) + weight * s
        out: dict[int, float] = {}
        for v in (sorted(q_hit) if variants is None else variants):
            variant = self._variants[v]
            hit = q_hit.get(v, 0)
            if not hit or not variant.words:
                out[v] = 0.0
                continue
            v_hit = sum(w * column[wid] for wid, w in zip(variant.ids, variant.weights, strict=True)
                        if wid in column)
            out[v] = _f_measure(hit, q_total, v_hit, variant.total) * variant.factor
        return out

    def queries(self, text: str, language: str = "") -> list[tuple[tuple[str, ...], float]]:
        """The message's terms, and those of each clause of a longer message, with factors.

        Customers give context ("I ordered a lamp last week, the courier said...") and ask
        in one clause: scoring the best clause keeps the context from diluting the match.
        """
        whole = tuple(dict.fromkeys(self.analyzer.terms(text, language)))
        out = [(whole, 1.0)] if whole else []
        parts = [p for p in _CLAUSES.split(text) if p and p.strip()]
        if len(parts) > 1:
            for part in parts:
                terms = tuple(dict.fromkeys(self.analyzer.terms(part, language)))
                if len(terms) >= MIN_CLAUSE_TERMS and terms != whole:
                    out.append((terms, CLAUSE_FACTOR))
        return out

    def match(self, text: str, limit: int = 5, language: str = "") -> list[Candidate]:
        """Entries ranked by score (best variant per entry, best clause), best first."""
        if not self._variants:
            return []
        best: dict[str, Candidate] = {}
        scored = self._scored(text, language)
        for _, factor, scores in scored:
            for v, score in scores.items():  # variant order: ties keep the first
                variant = self._variants[v]
                score *= factor
                current = best.get(variant.entry_id)
                if current is None or round(score, 1) > current.score:
                    best[variant.entry_id] = Candidate(variant.entry_id, round(score, 1),
                                                       variant.language, variant.text)
        ranked = sorted((c for c in best.values() if c.score > 0),
                        key=lambda c: (-c.score, c.entry_id))[:limit]
        if self._not_about and ranked:
            # only the best candidate can be answered alone: only it needs the check
            terms = {t for query, _, _ in scored for t in query}
            ranked[0] = self._with_not_about(ranked[0], terms)
        return ranked

    def _with_not_about(self, candidate: Candidate, terms: set[str]) -> Candidate:
        """The candidate, marked with the first of its entry's `not_about` words present
        (every term of the word in the message, exactly or, from 4 letters, as a prefix)."""
        not_about = self._not_about.get(candidate.entry_id)
        word = not_about.first_in(terms) if not_about is not None else None
        return candidate if word is None else replace(candidate, not_about=word)

    def score_in_language(self, text: str, entry_id: str, language: str) -> float:
        """The best score of the entry's questions written in `language`, the message's
        terms analysed in it (whether the answer can be in the customer's language).
        Only that language's questions are read: every question of the entry, for a
        score per language of which one was used, cost as much as the match itself."""
        variants = self._by_entry_language.get((entry_id, language), ())
        best = 0.0
        for _, factor, scores in self._scored(text, language):
            for v in variants:
                score = scores.get(v)
                if score is not None and score * factor > best:
                    best = score * factor
        return best
