"""The indexed FAQ matcher gives exactly the scores of the pairwise definition.

`FaqIndex` compares each query word with the knowledge base's vocabulary once and scores
only variants sharing a similar word; the reference below is the original, obvious
algorithm (every query word against every variant word, `word_similarity` per pair). The
two must agree to the last bit, rankings and ties included, so the precision measured on
tests/bots/faq_table.py keeps holding for the fast one.
"""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

from bots.faq import QUERY_WEIGHT, Candidate, FaqIndex, word_similarity
from tests.bots.faq_table import TABLE
from tests.bots.helpers import make_bots


def reference_score(index: FaqIndex, query: tuple[str, ...], words: tuple[str, ...]) -> float:
    if not words:
        return 0.0
    q_total = sum(index.idf(q) for q in query)
    v_total = sum(index.idf(w) for w in words)
    q_hit = sum(index.idf(q) * max(word_similarity(q, w) for w in words) for q in query)
    v_hit = sum(index.idf(w) * max(word_similarity(w, q) for q in query) for w in words)
    recall, precision = q_hit / q_total, v_hit / v_total
    if recall == 0 or precision == 0:
        return 0.0
    b2 = QUERY_WEIGHT**2
    return 100 * (1 + b2) * precision * recall / (b2 * precision + recall)


def reference_match(index: FaqIndex, text: str, limit: int) -> list[Candidate]:
    """Every clause against every piece of evidence (questions, titles, answer sentences)."""
    best: dict[str, Candidate] = {}
    for query, clause_factor in index.queries(text):
        for v in index._variants:
            score = reference_score(index, query, v.words) * v.factor * clause_factor
            current = best.get(v.entry_id)
            if current is None or round(score, 1) > current.score:
                best[v.entry_id] = Candidate(v.entry_id, round(score, 1), v.language, v.text)
    ranked = sorted((c for c in best.values() if c.score > 0), key=lambda c: (-c.score, c.entry_id))
    return ranked[:limit]


def queries(index: FaqIndex) -> list[str]:
    """The table, the knowledge base's own questions, and each of them with a typo."""
    rng = random.Random(5)
    out = [q for _, q, _ in TABLE] + ["", "ok", "?!", "a b c", "laskutusosoitteen muutos",
                                      "Hej! Jag beställde en lampa. Var är mitt paket?"]
    for e in index.settings.entries:
        for qs in e.questions.values():
            for q in qs:
                chars = list(q)
                i = rng.randrange(len(chars))
                chars[i] = rng.choice("aeioxyzäöи")
                out += [q, "".join(chars)]
    return out


def test_match_equals_the_pairwise_definition(tmp_path: Path):
    """Every third of the knowledge base's questions and their typos (all of them took 16 s
    of the suite's time on a slow host; the reference is a scan of every variant), every
    hand-written one."""
    index = make_bots(tmp_path).faq
    texts = queries(index)
    written = len(TABLE) + 6
    for text in texts[:written] + texts[written::3]:
        # (`not_about` marks candidates after scoring; the scores are what is compared)
        got = [replace(c, not_about="") for c in index.match(text, limit=10)]
        assert got == reference_match(index, text, 10), text


def test_score_in_language_equals_the_pairwise_definition(tmp_path: Path):
    index = make_bots(tmp_path).faq
    for text in queries(index)[:80]:
        for entry in index.settings.entries:
            for language in ("sv", "fi", "nb", "uk", "en", "de"):  # de: no questions
                expected = 0.0
                for query, clause_factor in index.queries(text, language):
                    for v in index._variants:
                        if v.entry_id == entry.id and v.language == language:
                            s = reference_score(index, query, v.words) * v.factor * clause_factor
                            expected = max(expected, s)
                got = index.score_in_language(text, entry.id, language)
                assert got == expected, (text, entry.id, language)


def test_the_row_cache_does_not_change_results(tmp_path: Path):
    index = make_bots(tmp_path).faq
    first = [index.match(q) for q in queries(index)]
    again = [index.match(q) for q in queries(index)]  # every word's row now cached
    assert first == again
