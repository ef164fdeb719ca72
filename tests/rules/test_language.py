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


def test_cached_word_walks_give_py3langid_scores_exactly():
    """`Detector._raw_score` caches the DFA walk per word; the scores must not move."""
    import numpy as np

    from rules.language import MAX_BYTES

    fresh = Detector(LANGS, "en")  # an empty walk cache: first and second pass differ
    ident = fresh._ident
    texts = [text for _, text in samples("short")[::7]] + ["", " ", "a  b", "  x", "x  ", "👍"]
    for _ in range(2):
        for text in texts:
            raw = ident._encode(text)[:MAX_BYTES]
            expected, got = ident._raw_score(raw), fresh._raw_score(raw)
            assert got.dtype == expected.dtype and np.array_equal(got, expected), text


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
