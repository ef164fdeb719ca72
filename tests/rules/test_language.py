"""Language detection accuracy on tests/rules/data (written for this project, not downloaded).

`python -m tests.rules.test_language` prints the table that docs/rules.md quotes.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from rules.language import Detector

DATA = Path(__file__).resolve().parent / "data"
LANGS = ("sv", "fi", "nb", "uk", "en")
WRONG_NEIGHBOUR = {"sv": "nb", "nb": "sv", "fi": "sv", "uk": "en", "en": "sv"}


@cache
def detector() -> Detector:
    return Detector(LANGS, "en")


def samples(kind: str) -> list[tuple[str, str]]:
    out = []
    for lang in LANGS:
        for line in (DATA / f"{lang}.{kind}.txt").read_text("utf-8").splitlines():
            line = line.strip()
            if line and (kind == "sentences" or 3 <= len(line.split()) <= 6):
                out.append((lang, line))
    return out


def accuracy(kind: str, hint: str = "none") -> tuple[float, int, list[tuple[str, str, str]]]:
    """hint: none | true (the platform names the right language) | en (a wrong UI language)
    | neighbour (the most confusable wrong one); samples whose hint would be right are
    skipped for the wrong-hint modes."""
    ok, total, errors = 0, 0, []
    for lang, text in samples(kind):
        given = {"none": "", "true": lang, "en": "en",
                 "neighbour": WRONG_NEIGHBOUR[lang]}[hint]
        if hint in ("en", "neighbour") and given == lang:
            continue
        got, _ = detector().detect(text, hint=given)
        total += 1
        if got == lang:
            ok += 1
        else:
            errors.append((lang, got, text))
    return ok / total, total, errors


def test_enough_data_per_language():
    for kind, minimum in (("sentences", 200), ("short", 190)):
        counts = {lang: sum(1 for got, _ in samples(kind) if got == lang) for lang in LANGS}
        assert min(counts.values()) >= minimum, counts


def test_full_sentences_without_hints():
    acc, total, errors = accuracy("sentences")
    assert total >= 1000
    assert acc >= 0.995, errors


def test_short_messages_without_hints():
    acc, _, errors = accuracy("short")
    assert acc >= 0.98, errors


def test_short_messages_with_platform_hints():
    acc, _, errors = accuracy("short", "true")
    assert acc >= 0.995, errors


def test_a_wrong_ui_language_hint_does_not_override_a_sentence():
    acc, _, errors = accuracy("sentences", "en")
    assert acc >= 0.995, errors


@pytest.mark.parametrize(("text", "hint", "previous", "expected"), [
    ("ok", "", "fi", "fi"),  # no letters to go on: the conversation keeps its language
    ("👍", "nb-NO", "", "nb"),  # nothing but the platform hint
    ("ok", "", "", "en"),  # nothing at all: the default
    ("Tack!", "sv-SE", "", "sv"),
    ("Takk!", "no", "", "nb"),  # Telegram's "no" means Norwegian: nb is configured
    ("Hei", "", "nb", "nb"),  # ambiguous between fi and nb: sticky
    ("Hei", "", "fi", "fi"),
    ("Voisitteko auttaa minua vaihtamaan salasanan?", "", "sv", "fi"),  # a sentence wins
])
def test_hints_and_stickiness(text: str, hint: str, previous: str, expected: str):
    assert detector().detect(text, hint=hint, previous=previous)[0] == expected


def test_cyrillic_is_ukrainian_when_it_is_the_only_cyrillic_language():
    lang, confidence = detector().detect("Де моя посилка?")
    assert (lang, confidence) == ("uk", 1.0)


if __name__ == "__main__":
    for kind in ("sentences", "short"):
        for mode in ("none", "true", "en", "neighbour"):
            acc, total, errors = accuracy(kind, mode)
            print(f"{kind:9} hint={mode:9} n={total:5} accuracy={acc * 100:6.2f}% "
                  f"errors={len(errors)}")


def _texts_for_exactness() -> list[str]:
    """Sample texts, long ones (repeated features), random mixes, and odd spacing."""
    import random

    rng = random.Random(5)
    texts = [text for _, text in samples("short")[::5]]
    texts += [text for _, text in samples("sentences")[::5]]
    words = " ".join(texts).split()
    texts += [" ".join(rng.choice(words) for _ in range(rng.randint(1, 90))) for _ in range(300)]
    texts += ["", " ", "a  b", "  x", "x  ", "👍", "ЗАМОВЛЕННЯ НЕ ПРИЙШЛО", "HEJ HEJ HEJ",
              "ab " * 200, "öööö " * 120, "x" * 900, "\u00e5\u0301 e\u0301"]
    return texts


def test_cached_word_walks_give_py3langid_scores_exactly():
    """`Detector._raw_score` caches the DFA walk per word and scores with a float32 copy of
    the model (a precomputed log1p(1) when no feature repeats): the scores must not move."""
    import numpy as np

    from rules.language import MAX_BYTES

    fresh = Detector(LANGS, "en")  # an empty walk cache: first and second pass differ
    ident = fresh._ident
    paths = {"unique": 0, "repeated": 0}
    for _ in range(2):
        for text in _texts_for_exactness():
            raw = ident._encode(text)[:MAX_BYTES]
            expected, got = ident._raw_score(raw), fresh._raw_score(raw)
            assert got.dtype == expected.dtype and np.array_equal(got, expected), text
            features = fresh._features(raw)
            if features:
                paths["unique" if len(set(features)) == len(features) else "repeated"] += 1
    assert min(paths.values()) > 100, paths  # both ways of weighting were compared


def test_log1p_table_is_np_log1p_at_every_position():
    """`_LOG1P[count]` stands for np.log1p over a float32 array of counts, whatever the
    array's length and the count's position in it (SIMD bodies and tails alike)."""
    import numpy as np

    from rules.language import _LOG1P, MAX_BYTES

    counts = np.arange(MAX_BYTES, dtype=np.intp)
    for n in (*range(1, 70), 127, 128, 129, 255, 256, 257, 399, MAX_BYTES):
        for shift in range(0, MAX_BYTES, 7):
            c = (counts[:n] + shift) % MAX_BYTES + 1
            assert np.array_equal(np.log1p(c.astype(np.float32)), _LOG1P[c]), (n, shift)


def _reference_probabilities(detector: Detector, text: str) -> dict[str, float] | None:
    """`Detector.probabilities` as first written: every step spelled out, py3langid's own
    `_raw_score` (its uncached DFA walk and numpy scoring)."""
    import math
    import re

    from rules.language import MAX_BYTES, MIN_LETTERS

    letters = len(re.findall(r"[^\W\d_]", text))
    if letters < MIN_LETTERS:
        return None
    only = detector._only_cyrillic
    if only and len(re.findall(r"[\u0400-\u04ff]", text)) * 2 > letters:
        return {code: float(code == only) for code in detector.languages}
    ident = detector._ident
    raw = ident._encode(text)[:MAX_BYTES]
    scores = ident._raw_score(raw)
    scale = 1.0 / math.sqrt(len(raw) or 1)
    logits = [float(scores[detector._column[label]]) * scale for label in detector._labels]
    top = max(logits)
    exp = [math.exp(v - top) for v in logits]
    total = sum(exp)
    return {code: e / total for code, e in zip(detector.languages, exp, strict=True)}


def test_probabilities_are_the_reference_definition_exactly():
    import random

    rng = random.Random(9)
    alphabet = "ab Åö1_²½ ДжїЇ -!👍  ﬁ\u0301"
    texts = _texts_for_exactness()
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
              for _ in range(2000)]
    texts += [f"{a} {b}" for a, b in zip(texts[:200], texts[-200:], strict=True)]
    for languages in (LANGS, ("sv", "en"), ("uk", "ru", "en")):
        fresh = Detector(languages, "en")
        for text in texts:
            assert fresh.probabilities(text) == _reference_probabilities(fresh, text), text


def test_asking_twice_gives_the_same_answer_and_a_fresh_dict():
    fresh = Detector(LANGS, "en")
    first = fresh.probabilities("Jag vill säga upp mitt abonnemang.")
    assert first is not None
    first["sv"] = 0.0  # `detect` multiplies priors into the dict it gets
    again = fresh.probabilities("Jag vill säga upp mitt abonnemang.")
    assert again is not None and again["sv"] > 0.9
    assert fresh.detect("Jag vill säga upp mitt abonnemang.", hint="fi", previous="fi")[0] == "sv"
    assert fresh.detect("Jag vill säga upp mitt abonnemang.")[0] == "sv"
    assert fresh.probabilities("ok") is None and fresh.probabilities("ok") is None


@pytest.mark.parametrize("text", ["ok", "a1_b", "1234 __", "ab²½", "ﬁx", "👍👍 hey", "Де?", "o k y"])
def test_too_few_letters_is_no_signal(text: str):
    import re

    letters = len(re.findall(r"[^\W\d_]", text))  # the definition of a letter
    assert (detector().probabilities(text) is None) == (letters < 3), text
