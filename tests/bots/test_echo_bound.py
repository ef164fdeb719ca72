"""The echo detector's fast path gives exactly the scores of its original definition.

`EchoDetector._own` drops, before scoring, the texts whose upper bound (`_bound`) of
`token_set_ratio` is below the threshold. These tests check the bound against rapidfuzz
on many pairs, that the packed filter keeps every text that reaches the threshold (and
exactly the texts the bound lets through), and `_own` against the code it replaces
(`previous_own`: the comparable window scored in full) on the shipped texts and random
corpora, and against the definition both implement, scoring the whole corpus and keeping
the 3 closest (`_top(folded, corpus, threshold)`).

`previous_own` and `_top` can differ when two own texts tie exactly at the edge of the 3
closest: rapidfuzz's `process.extract` with `score_cutoff` equal to a score can leave out
a text of exactly that score (seen on random corpora, never on the shipped texts). The fast
path keeps the previous behaviour there too.
"""

from __future__ import annotations

import bisect
import random
from collections import Counter

import pytest
from rapidfuzz import fuzz, process

from bots.guards import BOUND_SLACK, TOP, EchoDetector, _bound, _top
from bots.text import fold
from bots.texts import BUILTIN
from tests.bots.helpers import make_bots

CYRILLIC = "абвгдеєжзиіїйклмнопрстуфхцчшщьюя"
LETTERS = "abcdefghijklmnopqrstuvwxyz" + "0123456789" + CYRILLIC + "ßø_²"


def bound_inputs(a: str, b: str) -> tuple[int, int, int, int]:
    """`_bound`'s arguments computed from their definitions (folded texts)."""
    wa, wb = set(a.split()), set(b.split())
    ja, jb = " ".join(sorted(wa)), " ".join(sorted(wb))
    letters = sum((Counter(ja) & Counter(jb)).values())
    words = sum(len(w) + 1 for w in wa & wb)
    return letters, words, len(ja), len(jb)


def shipped_texts(tmp_path) -> list[str]:
    bots = make_bots(tmp_path)
    own = [t for texts in (*BUILTIN.values(), *bots.settings.replies.values()) for t in texts.values()]
    return own + [a for e in bots.faq.entries.values() for a in e.answers.values()]


def random_word(rng: random.Random, alphabet: str = LETTERS) -> str:
    return "".join(rng.choice(alphabet) for _ in range(rng.choice((1, 2, 3, 4, 5, 6, 8, 11))))


def mutate(rng: random.Random, text: str, vocabulary: list[str]) -> str:
    """A text near `text`: words dropped, added, repeated, swapped or misspelt."""
    words = text.split()
    for _ in range(rng.choice((0, 1, 1, 2, 3, 5))):
        op = rng.randrange(6)
        i = rng.randrange(len(words)) if words else 0
        if op == 0 and len(words) > 1:
            del words[i]
        elif op == 1:
            words.insert(i, rng.choice(vocabulary))
        elif op == 2 and words:
            words.insert(i, words[i])  # a repeated word: token sets deduplicate
        elif op == 3 and words:
            j = rng.randrange(len(words))
            words[i], words[j] = words[j], words[i]
        elif op == 4 and words and words[i]:
            w = words[i]
            k = rng.randrange(len(w))
            words[i] = w[:k] + rng.choice(LETTERS) + w[k + 1:]  # a typo
        elif op == 5 and words:
            words[i] = words[i] + rng.choice(LETTERS)
    return " ".join(words)


def queries(rng: random.Random, corpus: list[str], n: int) -> list[str]:
    vocabulary = sorted({w for c in corpus for w in c.split()}) or ["x"]
    out = []
    for _ in range(n):
        kind = rng.randrange(4)
        if kind == 0 and corpus:
            out.append(rng.choice(corpus))
        elif kind == 1 and corpus:
            out.append(mutate(rng, rng.choice(corpus), vocabulary))
        elif kind == 2 and corpus:  # two own texts run together, or a half of one
            a = rng.choice(corpus).split()
            b = rng.choice(corpus).split()
            out.append(" ".join(a[: len(a) // 2 + 1] + b[len(b) // 2:]))
        else:
            words = [rng.choice(vocabulary) if rng.random() < 0.5 else random_word(rng)
                     for _ in range(rng.randint(1, 25))]
            out.append(" ".join(words))
    return [fold(q) for q in out]


def random_corpus(rng: random.Random) -> list[str]:
    base = [" ".join(random_word(rng, rng.choice((LETTERS, "abcde ", CYRILLIC)))
                     for _ in range(rng.randint(3, 30)))
            for _ in range(rng.randint(0, 40))]
    vocabulary = sorted({w for c in base for w in c.split()}) or ["x"]
    # near-duplicates inside the corpus make ties and top-3 pushes likely
    return base + [mutate(rng, rng.choice(base), vocabulary) for _ in range(len(base) // 2)]


def test_bound_is_never_below_rapidfuzz():
    rng = random.Random(12)
    corpus = [fold(t) for t in random_corpus(rng) + random_corpus(rng)]
    checked = 0
    for a in queries(rng, corpus, 3000):
        for b in [*rng.sample(corpus, min(8, len(corpus))), mutate(rng, a, corpus or ["x"])]:
            if not a.split() or not b.split():
                continue
            score = fuzz.token_set_ratio(a, b)
            assert _bound(*bound_inputs(a, b)) >= score - 1e-9, (a, b)
            checked += 1
    assert checked > 20000


@pytest.mark.parametrize(("a", "b"), [
    ("send the invoice again", "send the invoice again"),  # equal: 100
    ("send the invoice", "send the invoice again please"),  # contained: 100
    ("send send the invoice", "the invoice send"),  # repeated words
    ("abc def ghi jkl", "abd cef gih jlk"),  # nothing shared, same letters
    ("please send the invoice again tomorow", "please send the invoice again tomorrow"),
])
def test_bound_on_edge_cases(a, b):
    assert _bound(*bound_inputs(a, b)) >= fuzz.token_set_ratio(a, b) - 1e-9


def previous_own(echo: EchoDetector, folded: str) -> float:
    """`EchoDetector._own` before the bound (commit cdc2ba3): the window scored in full."""
    lo = bisect.bisect_left(echo._lengths, 0.6 * len(folded))
    hi = bisect.bisect_right(echo._scaled, len(folded))
    window = {i: echo._corpus[i] for i in sorted(echo._by_length[lo:hi])}
    hits = process.extract(folded, window, scorer=fuzz.token_set_ratio,
                           score_cutoff=echo.threshold, limit=1)
    if not hits:
        return 0.0
    _, score, first = hits[0]
    others = {i: c for i, c in enumerate(echo._corpus) if i not in window}
    above = sum(1 for _, s, i in process.extract(folded, others, scorer=fuzz.token_set_ratio,
                                                  score_cutoff=score, limit=None)
                if s > score or i < first)
    return float(score) if above < TOP else 0.0


def check_detector(texts: list[str], threshold: float, qs: list[str], *,
                   definition: bool = False) -> int:
    """`_own` equals the previous code (and the whole-corpus definition if asked); the
    filter keeps every text at the threshold. Returns how many queries were echoes."""
    echo = EchoDetector(texts, threshold)
    corpus = echo._corpus
    echoes = 0
    for q in qs:
        if not q:
            continue
        expected = previous_own(echo, q)
        assert echo._own(q) == expected, (q, threshold)
        if definition:
            assert expected == _top(q, corpus, threshold), (q, threshold)
        echoes += expected > 0
        lo = bisect.bisect_left(echo._lengths, 0.6 * len(q))
        hi = bisect.bisect_right(echo._scaled, len(q))
        if lo < hi:
            kept = set(echo._candidates(q, lo, hi))
            for i in echo._by_length[lo:hi]:
                if fuzz.token_set_ratio(q, corpus[i]) >= threshold - BOUND_SLACK:
                    assert i in kept, (q, corpus[i], threshold)
    return echoes


@pytest.mark.parametrize("threshold", [88, 60, 75, 95, 99.5, 100, 0])
def test_own_is_the_whole_corpus_definition_on_the_shipped_texts(tmp_path, threshold):
    texts = shipped_texts(tmp_path)
    rng = random.Random(threshold)
    echoes = check_detector(texts, threshold, queries(rng, [fold(t) for t in texts], 1000),
                            definition=True)
    if 0 < threshold <= 99.5:
        assert echoes > 50  # the candidates path is exercised, not only the filter


def test_own_is_the_whole_corpus_definition_on_random_corpora():
    rng = random.Random(2026)
    echoes = 0
    for _ in range(60):
        texts = random_corpus(rng)
        threshold = rng.choice((50, 70, 80, 88, 88, 90, 95, 100))
        echoes += check_detector(texts, threshold, queries(rng, [fold(t) for t in texts], 120))
    assert echoes > 200


def test_an_empty_corpus_and_unknown_characters():
    assert EchoDetector([], 88)._own("hello there my friend") == 0.0
    echo = EchoDetector(["please send the invoice again tomorow"], 88)
    assert echo._own("please send the invoice again tomorrow") > 98
    assert echo._own("please send the invoice again tomorrow 😀 ⅷ 𝔘") == _top(
        "please send the invoice again tomorrow 😀 ⅷ 𝔘", echo._corpus, 88)


def previous_top(folded: str, candidates: list[str], threshold: float) -> float:
    """`_top` before it dropped texts of other lengths when there are at most `TOP`."""
    if not candidates:
        return 0.0
    best = 0.0
    for found, score, _ in process.extract(folded, candidates, scorer=fuzz.token_set_ratio,
                                           score_cutoff=threshold, limit=TOP):
        if 0.6 * len(found) <= len(folded) and len(found) >= 0.6 * len(folded):
            best = max(best, float(score))
    return best


def test_top_of_a_few_texts_is_the_previous_definition():
    rng = random.Random(3)
    corpus = [fold(t) for t in random_corpus(rng) + random_corpus(rng)]
    hits = 0
    for q in queries(rng, corpus, 3000):
        few = [rng.choice(corpus) if corpus else "x" for _ in range(rng.randrange(TOP + 1))]
        if few and rng.random() < 0.5:
            few[0] = mutate(rng, q, corpus)  # the last reply coming back, nearly
        for threshold in (60, 88):
            expected = previous_top(q, few, threshold)
            assert _top(q, few, threshold) == expected, (q, few)
            hits += expected > 0
    assert hits > 500


@pytest.mark.parametrize("threshold", [88, 50, 97, 100, 0])
def test_the_packed_filter_keeps_exactly_the_texts_the_bound_lets_through(tmp_path, threshold):
    # the packed sums and biases against `_bound` computed from its definition, per text
    rng = random.Random(threshold)
    for texts in (shipped_texts(tmp_path), random_corpus(rng), random_corpus(rng)):
        echo = EchoDetector(texts, threshold)
        for q in queries(rng, echo._corpus, 300):
            lo = bisect.bisect_left(echo._lengths, 0.6 * len(q))
            hi = bisect.bisect_right(echo._scaled, len(q))
            if not q or lo >= hi:
                continue
            kept = set(echo._candidates(q, lo, hi))
            assert kept <= set(echo._by_length[lo:hi])
            for i in echo._by_length[lo:hi]:
                bound = _bound(*bound_inputs(q, echo._corpus[i]))
                if bound >= threshold - BOUND_SLACK:
                    assert i in kept, (q, echo._corpus[i])
                elif bound < threshold - 2 * BOUND_SLACK:
                    assert i not in kept, (q, echo._corpus[i])
