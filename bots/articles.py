"""Help-centre articles as a second knowledge base: which section answers a message?

`inquiry-router kb import` splits a help centre's articles into sections; the service
hands them to the bots as plain records (router/engine/kb, wired in router/wiring.py). The FAQ's
entries are written as questions, articles are not: "Delete a message completely" is a
heading, its answer a page of prose, and customers ask in their own words ("bookmark a
message" for *Star a message*). So sections are ranked by meaning where the packaged
sentence model covers the language (bots/meaning.py: English), and like a search engine
ranks pages elsewhere (BM25F: the article's title and the section's heading weigh more
than the body, long bodies are normalised, with the FAQ's word matching: bots/analyze.py
terms in each article's language, shared stems, typos by rapidfuzz ratio >= 0.8).

Ranking is not answering. Precision matters more than recall (a wrong automatic answer is
worse than "Did you mean"), so the bot answers alone only when the best article is clearly
ahead: its `rank` must lead the runner-up's by `margin`, and its `score` (0-100) must
reach `answer_at`. By meaning, `score` is the cosine similarity of the message and the
section (x 100) and `rank` is exp(similarity / TEMPERATURE), so the margin is a lead in
similarity (2.0 = TEMPERATURE x ln 2 = 0.10); the word scores were no help there (measured
on the tuning parts of tests/kb/: adding BM25 to the similarity ranked worse, and near
misses share words with the corpus by definition). By words, `score` is 60 % the share of
the message's words (idf-weighted) the section contains and 40 % how well its title and
heading match the message, and `rank` is BM25F. Everything else above `suggest_at` is
offered as "Did you mean" buttons, best first.

Where sections are ranked by meaning, the word ranking is kept as a second, independent
opinion (`word_lead`, `word_score`). When the two disagree, the words' best article
joins the suggestions second: the static embedding misses some plain matches ("my
browser crashed while I was writing, is it saved?" for *Draft messages*), and a button
costs the customer little. Answering alone when
both put the same article first (`agree_margin`, `agree_at`) is an admin's option, off
by default: on the tuning parts it added only right answers, on the test parts it also
answered near misses (docs/bots.md).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Final

from rapidfuzz import fuzz, process

from bots.analyze import Analyzer
from bots.faq import MIN_FUZZY_LENGTH, MIN_WORD_SIMILARITY, word_similarity
from bots.meaning import LANGUAGES, MeaningIndex, embedder

PREFIX: Final = "kb:"  # button payloads and suggestion ids: "kb:<section id>"
TITLE_WEIGHT: Final = 3.0  # a word of the article's title counts as this many body words
HEADING_WEIGHT: Final = 2.0
TITLE_BONUS: Final = 1.0  # rank added per query word (times its idf) in the title/heading
K1: Final = 1.5  # BM25 term-frequency saturation
B: Final = 0.75  # BM25 body-length normalisation
COVERAGE_SHARE: Final = 0.6  # of `score`; the rest is the title/heading match
ROW_CACHE: Final = 4096
SUGGEST_RANK_SHARE: Final = 0.5  # a suggestion ranks at least this share of the best
# rank by meaning = exp(similarity / TEMPERATURE): a rank ratio is a lead in similarity
TEMPERATURE: Final = 0.15
WORD_LEAD_ALONE: Final = 100.0  # the word lead of the only article sharing a word at all


def word_score(coverage: float, title_match: float) -> float:
    """A section's 0-100 score by words: the ranking's own where meaning is not measured,
    and the word ranking's second opinion where it is."""
    return 100 * (COVERAGE_SHARE * coverage + (1 - COVERAGE_SHARE) * title_match)


@dataclass(frozen=True, slots=True)
class Section:
    id: str
    article: str  # the article's id: sections of one article are suggested once
    title: str
    heading: str
    text: str
    language: str
    url: str

    @property
    def label(self) -> str:
        """What a button says: the article, and the section when it is not the whole."""
        if self.heading and self.heading.casefold() != self.title.casefold():
            return f"{self.title}: {self.heading}"
        return self.title


@dataclass(frozen=True, slots=True)
class Candidate:
    section: Section
    score: float  # 0-100, what the verdict reads
    rank: float  # the order: exp(similarity / TEMPERATURE) by meaning, else BM25F
    coverage: float  # share of the message's words (idf-weighted) in the section
    title_match: float  # F-measure of the message's words and the title's and heading's
    similarity: float | None = None  # cosine of message and section, where measured
    # ranked by meaning: the article's place by words too (BM25F, independent of meaning)
    word_lead: float = 0.0  # first by words: its BM25F over the next article's, else 0
    word_score: float = 0.0  # 0-100 by words of its best section there


@dataclass(frozen=True, slots=True)
class _Doc:
    section: Section
    title: frozenset[str]  # title and heading terms
    body_length: int


def sections_from(records: Iterable[Mapping[str, Any]]) -> list[Section]:
    """Sections from the records router/engine/kb loads (unknown keys are ignored)."""
    out = []
    for r in records:
        out.append(Section(id=str(r["id"]), article=str(r.get("article") or r["id"]),
                           title=str(r.get("title") or ""), heading=str(r.get("heading") or ""),
                           text=str(r.get("text") or ""), language=str(r.get("language") or ""),
                           url=str(r.get("url") or "")))
    return out


class ArticleIndex:
    """The imported sections, indexed once per rule set; `match` is pure."""

    def __init__(self, sections: Iterable[Section], *, synonyms: Mapping[str, Any],
                 default_language: str, meaning: bool = True) -> None:
        """`meaning=False` ranks by words alone (the benchmark's comparison)."""
        self.default_language = default_language
        self.analyzer = Analyzer(synonyms, default_language)
        self.sections = {s.id: s for s in sections}
        fields = [(s, self._terms(s.title, s), self._terms(s.heading, s), self._terms(s.text, s))
                  for s in self.sections.values()]
        self.analyzer.set_vocabulary({t for _, ti, he, bo in fields for t in (*ti, *he, *bo)})
        self.languages = frozenset(s.language for s in self.sections.values())
        self._docs: list[_Doc] = []
        # term -> [(doc, weighted term frequency, in title or heading)]
        postings: dict[str, list[tuple[int, float, bool]]] = defaultdict(list)
        lengths = [len(bo) for _, _, _, bo in fields]
        average = sum(lengths) / len(lengths) if lengths else 1.0
        for i, (section, title, heading, body) in enumerate(fields):
            self._docs.append(_Doc(section, frozenset((*title, *heading)), len(body)))
            norm = 1 - B + B * len(body) / max(average, 1.0)
            t, h, b = Counter(title), Counter(heading), Counter(body)
            for term in t.keys() | h.keys() | b.keys():
                tf = TITLE_WEIGHT * t[term] + HEADING_WEIGHT * h[term] + b[term] / norm
                postings[term].append((i, tf, term in t or term in h))
        self._postings = dict(postings)
        n = max(1, len(self._docs))
        self._idf = {term: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5))
                     for term, p in postings.items()}
        self._unknown_idf = math.log(1 + n)  # a word no article uses: the rarest weight
        self._vocab = list(self._postings)
        self._fuzzy_vocab = [w if len(w) >= MIN_FUZZY_LENGTH else "" for w in self._vocab]
        self._row = lru_cache(maxsize=ROW_CACHE)(self._similar)
        self._meaning = self._meaning_index() if meaning else None
        self._position = {d.section.id: i for i, d in enumerate(self._docs)}

    def _meaning_index(self) -> MeaningIndex | None:
        """Passage vectors of the sections in a language the sentence model covers."""
        covered = [(i, d.section.title, d.section.heading, d.section.text)
                   for i, d in enumerate(self._docs)
                   if (d.section.language or self.default_language) in LANGUAGES]
        model = embedder() if covered else None
        return MeaningIndex(model, covered) if model is not None else None

    @property
    def by_meaning(self) -> bool:
        """Whether any section is ranked by meaning (`try` and the docs say which)."""
        return self._meaning is not None

    def _terms(self, text: str, section: Section) -> tuple[str, ...]:
        return self.analyzer.terms(text, section.language or self.default_language) if text else ()

    def __len__(self) -> int:
        return len(self.sections)

    def get(self, section_id: str) -> Section | None:
        return self.sections.get(section_id.removeprefix(PREFIX))

    def idf(self, term: str) -> float:
        return self._idf.get(term, self._unknown_idf)

    def _similar(self, word: str) -> tuple[tuple[str, float], ...]:
        """Indexed terms like `word` with their similarity (the FAQ's definition)."""
        row: dict[str, float] = {}
        if len(word) >= MIN_FUZZY_LENGTH:
            cutoff = MIN_WORD_SIMILARITY * 100 - 1
            for w, _, _ in process.extract(word, self._fuzzy_vocab, scorer=fuzz.ratio,
                                           score_cutoff=cutoff, limit=None):
                similarity = word_similarity(word, w)
                if similarity:
                    row[w] = similarity
        if word in self._postings:
            row[word] = 1.0
        return tuple(row.items())

    def match(self, text: str, language: str = "", limit: int = 5) -> list[Candidate]:
        """The best section of each article, best first (at most `limit` articles)."""
        language = language or self.default_language
        query = tuple(dict.fromkeys(self.analyzer.terms(text, language)))
        if not query or not self._docs:
            return []
        weights = [self.idf(q) for q in query]
        total = sum(weights) or 1.0
        rank: dict[int, float] = defaultdict(float)
        hits: dict[int, list[float]] = defaultdict(lambda: [0.0] * len(query))
        title_hits: dict[int, list[float]] = defaultdict(lambda: [0.0] * len(query))
        for qi, (q, weight) in enumerate(zip(query, weights, strict=True)):
            best_tf: dict[int, float] = {}
            for term, similarity in self._row(q):
                for doc, tf, in_title in self._postings[term]:
                    if similarity * tf > best_tf.get(doc, 0.0):
                        best_tf[doc] = similarity * tf
                    if similarity > hits[doc][qi]:
                        hits[doc][qi] = similarity
                    if in_title and similarity > title_hits[doc][qi]:
                        title_hits[doc][qi] = similarity
            for doc, tf in best_tf.items():
                rank[doc] += weight * tf * (K1 + 1) / (tf + K1)
                rank[doc] += TITLE_BONUS * weight * title_hits[doc][qi]
        meaning = (self._meaning.similarity(text)
                   if self._meaning is not None and language in LANGUAGES else {})
        scored = []
        for doc in rank.keys() | meaning.keys():
            coverage = sum(w * h for w, h in zip(weights, hits[doc], strict=True)) / total
            title = self._title_match(query, title_hits[doc], self._docs[doc].title)
            similarity = meaning.get(doc)
            if similarity is not None:
                score, r = 100 * similarity, math.exp(similarity / TEMPERATURE)
            else:
                score = word_score(coverage, title)
                r = rank[doc]
            scored.append(Candidate(self._docs[doc].section, round(max(score, 0.0), 1), r,
                                    round(coverage, 3), round(title, 3),
                                    None if similarity is None else round(similarity, 3)))
        scored.sort(key=lambda c: (-c.rank, c.section.id))
        if language in self.languages:  # articles in the customer's language come first
            scored.sort(key=lambda c: c.section.language != language)
        out, seen = [], set()
        for c in scored:
            if c.section.article not in seen:
                seen.add(c.section.article)
                out.append(c)
                if len(out) >= limit:
                    break
        if not meaning:
            return out
        words, first = self._word_opinion(scored, rank)
        if limit > 1 and first and first not in seen:  # offered even when meaning ranks it low
            out.append(next(c for c in scored if c.section.article == first))
        return [replace(c, word_score=words[c.section.article][1],
                        word_lead=words[c.section.article][0]) for c in out]

    def _word_opinion(self, scored: list[Candidate], bm25: Mapping[int, float]
                      ) -> tuple[dict[str, tuple[float, float]], str]:
        """Ranked by meaning, what the words say: per article (its BM25F lead over the next
        article when it is first by words, else 0; the word score of its best section by
        words), and the article first by words ('' when no article shares a word)."""
        best: dict[str, tuple[float, Candidate]] = {}
        for c in scored:
            r = bm25.get(self._position[c.section.id], 0.0)
            if c.section.article not in best or r > best[c.section.article][0]:
                best[c.section.article] = (r, c)
        top = sorted(((r, a) for a, (r, _) in best.items()), key=lambda x: (-x[0], x[1]))[:2]
        first = top[0][1] if top and top[0][0] > 0 else ""
        second = top[1][0] if len(top) > 1 else 0.0
        lead = (top[0][0] / second if second > 0 else WORD_LEAD_ALONE) if first else 0.0
        out = {}
        for article, (_, c) in best.items():
            score = word_score(c.coverage, c.title_match)
            out[article] = (round(lead, 3) if article == first else 0.0, round(score, 1))
        return out, first

    def _title_match(self, query: tuple[str, ...], hits: list[float],
                     title: frozenset[str]) -> float:
        """F-measure, unweighted: the message's words in the title/heading and back."""
        if not title:
            return 0.0
        recall = sum(hits) / len(query)
        rows = [dict(self._row(q)) for q in query]
        back = sum(max(row.get(t, 0.0) for row in rows) for t in title) / len(title)
        return 2 * recall * back / (recall + back) if recall and back else 0.0


def answer_text(section: Section, max_chars: int) -> str:
    """The section as a reply: its title, its text (cut at a line or sentence), its link."""
    body = section.text.strip()
    if len(body) > max_chars:
        cut = body[:max_chars]
        end = max(cut.rfind("\n"), cut.rfind(". "))
        body = (cut[:end + 1] if end > max_chars // 2 else cut).rstrip() + " …"
    parts = [section.label, body]
    if section.url:
        parts.append(section.url)
    return "\n".join(p for p in parts if p)


def candidates_view(candidates: list[Candidate], *, answer_at: float, suggest_at: float,
                    margin: float, language: str, problem: str = "", faq_first: str = "",
                    agree_margin: float = 0.0, agree_at: float = 100.0) -> list[dict[str, Any]]:
    """Candidates with the verdict the bot reaches (for the trace and `try`).

    Only the best can be answered alone, and only when its score reaches `answer_at`, it
    leads clearly (its rank `margin` times the runner-up's, or, ranked by meaning, it is
    also first by words with a BM25F lead of `agree_margin` and a word score of
    `agree_at`), it is written in the customer's language, the message reports no
    `problem` and no FAQ entry (`faq_first`) could be meant. `agree_margin` 0 (the default
    and the shipped setting: it did not hold on the test parts, docs/bots.md) leaves only
    the margin. The words' best article, when it is not the best by meaning, is
    suggested second if its word score reaches `suggest_at`.
    """
    out = []
    best_rank = candidates[0].rank if candidates else 0.0
    for i, c in enumerate(candidates):
        runner_up = candidates[i + 1].rank if i + 1 < len(candidates) else 0.0
        words = c.similarity is not None and bool(c.word_lead)  # first by words too
        why = ""
        if i == 0 and c.score >= answer_at:
            agreed = (words and 0 < agree_margin <= c.word_lead
                      and c.word_score >= agree_at)
            if runner_up and c.rank < margin * runner_up and not agreed:
                why = f"another article ranks close ({runner_up:.1f} of {c.rank:.1f}): suggested"
            elif language and c.section.language and c.section.language != language:
                why = f"the article is in {c.section.language!r}, not {language!r}: suggested"
            elif problem:
                why = f"reports a problem ({problem!r}): suggested, not answered"
            elif faq_first:
                why = f"the FAQ entry {faq_first!r} may be meant: suggested"
        if i == 0 and c.score >= answer_at and not why:
            verdict = "answer"
        elif (c.score >= suggest_at and c.rank >= SUGGEST_RANK_SHARE * best_rank) or (
                words and c.word_score >= suggest_at):
            verdict = "suggest"
        else:
            verdict = "below"
        item = {"entry": PREFIX + c.section.id, "article": c.section.title,
                "section": c.section.heading, "url": c.section.url, "score": c.score,
                "rank": round(c.rank, 2), "coverage": c.coverage,
                "title_match": c.title_match, "language": c.section.language,
                "verdict": verdict}
        if c.similarity is not None:
            item.update(similarity=c.similarity, word_score=c.word_score)
            if c.word_lead:
                item["word_lead"] = c.word_lead
        if why:
            item["why"] = why
        out.append(item)
    return _words_second(out)


def _words_second(view: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The words' best article, when suggested, right after the best by meaning: the
    suggestions are cut at `max_suggestions`, and a plain word match is worth a button."""
    at = next((i for i, v in enumerate(view) if i > 1 and "word_lead" in v
               and v["verdict"] == "suggest"), None)
    if at is None:
        return view
    return [view[0], view[at], *view[1:at], *view[at + 1:]]
