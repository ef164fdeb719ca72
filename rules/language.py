"""Language detection restricted to the configured languages, with platform hints.

py3langid (a naive Bayes model over byte n-grams) does the detection; we restrict it to
the configured languages, calibrate its scores into probabilities, and fold in two priors:
the platform's hint (Telegram `language_code`, Slack locale, browser language) and the
conversation's language so far. A full sentence overrides both; a three-word message in
Swedish or Norwegian often cannot, and there the hint is what gets it right. See
docs/rules.md for the accuracy measured on tests/rules/data.
"""

from __future__ import annotations

import copy
import math
import re
import threading
from collections import Counter
from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np

# Configured code -> the label py3langid uses for it. Its "no" is Bokmål-dominated.
_MODEL_LABEL = {"nb": "no", "no": "no"}
# Platform hints name locales ("sv-SE", "nb_NO", "no"); these spellings mean the same.
_HINT_ALIASES = {"no": ("nb", "no", "nn"), "nb": ("nb", "no"), "nn": ("nn", "no", "nb")}

HINT_WEIGHT = 8.0  # prior odds for the platform's language code
PREVIOUS_WEIGHT = 3.0  # prior odds for the conversation's language so far
MIN_CONFIDENCE = 0.6  # below this a message keeps the language it had
MIN_LETTERS = 3  # fewer letters than this is not language ("ok", "??", "👍")

# A second model for short messages, where byte n-grams alone confuse close languages
# (Swedish/Norwegian "En stor del av"): lingua's word and n-gram models (packaged, no
# download), asked only when the message is short and py3langid is not sure, and averaged
# with it. Measured on tests/eval/langid.*.txt (tuning part): 98.96 % -> 100 %.
SECOND_OPINION_WORDS = 8  # messages up to this many words may get a second opinion
SECOND_OPINION_BELOW = 0.95  # ... when py3langid's best probability is below this
SECOND_OPINION_WEIGHT = 0.5

MAX_BYTES = 400  # a long email's first lines say enough; the cost is linear in bytes
CYRILLIC_LANGUAGES = frozenset({"uk", "ru", "be", "bg", "mk", "sr", "kk", "ky", "mn", "tg"})
_NON_LETTERS = re.compile(r"[\W\d_]+")  # the complement of a letter, [^\W\d_]
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_NON_CYRILLIC = re.compile(r"[^\u0400-\u04ff]+")  # deleting these leaves what _CYRILLIC finds
# MIN_LETTERS letters anywhere (a letter is [^\W\d_]; its complement is [\W\d_])
_THREE_LETTERS = re.compile(r"[^\W\d_](?:[\W\d_]*[^\W\d_]){" + str(MIN_LETTERS - 1) + "}")

WALK_CACHE = 50_000  # (DFA state, word) walks kept: a few MB
_LOCK = threading.Lock()
# np.log1p of every count a feature can have in a message (a feature per byte at most),
# as float32: np.log1p(float32 counts) gives these same values element by element
_LOG1P = np.log1p(np.arange(MAX_BYTES + 1, dtype=np.float32))
_LOG1P_ONES = np.full(MAX_BYTES, _LOG1P[1])  # the weights when no feature repeats


@cache
def _base_identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=False)


def _build_lingua(languages: Sequence[str]) -> tuple[Any, dict[Any, str]] | None:
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    codes: dict[Any, str] = {}
    for code in languages:
        iso = {"no": "nb"}.get(code, code)
        try:
            language = Language.from_iso_code_639_1(getattr(IsoCode639_1, iso.upper()))
        except (AttributeError, ValueError):
            continue
        codes.setdefault(language, code)
    if len(codes) < 2:
        return None
    with _LOCK:
        return LanguageDetectorBuilder.from_languages(*codes).build(), codes


def supported(code: str) -> bool:
    """Whether `code` can be detected (used to validate `languages:` at load time)."""
    return _MODEL_LABEL.get(code, code) in set(_base_identifier().nb_classes)


def _letters(text: str) -> int:
    # every character is a letter or not: counting what is left after deleting the
    # runs of non-letters is the same count, without a list of one-letter strings
    return len(_NON_LETTERS.sub("", text))


def base_code(locale: str) -> str:
    """'sv-SE' / 'nb_NO' / 'UK' -> 'sv' / 'nb' / 'uk'."""
    return locale.replace("_", "-").split("-", 1)[0].strip().lower()


def _walk(nextmove: Any, rowbase: list[int], output: Any, state: int,
          data: bytes) -> tuple[int, tuple[int, ...]]:
    """py3langid's `visit_counts` loop from `state`: (end state, features in order)."""
    found = []
    for byte in data:
        state = nextmove[rowbase[state] + byte]
        feature = output[state]
        if feature >= 0:
            found.append(feature)
    return state, tuple(found)


class Detector:
    """Detects one of `languages`; immutable after construction, safe across threads."""

    def __init__(self, languages: Sequence[str], default: str) -> None:
        self.languages = tuple(languages)
        self.default = default
        self._labels = tuple(_MODEL_LABEL.get(code, code) for code in self.languages)
        with _LOCK:  # restricting copies the model's column arrays; do it once per set
            ident = copy.copy(_base_identifier())
            ident.set_languages(sorted(set(self._labels)))
        self._ident = ident
        self._column = {label: ident.nb_classes.index(label) for label in set(self._labels)}
        self._columns = tuple(self._column[label] for label in self._labels)
        cyrillic = [code for code in self.languages if code in CYRILLIC_LANGUAGES]
        # With one Cyrillic-script language configured, the script alone decides, as in
        # lingua's rule-based first stage; it is also the cheapest possible check.
        self._only_cyrillic = cyrillic[0] if len(cyrillic) == 1 else ""
        # the restricted model's float16 rows, cast to float32 once (exact) and C-contiguous
        self._table = np.ascontiguousarray(ident.nb_ptc, dtype=np.float32)
        self._prior = ident.nb_pc
        self._walks: dict[tuple[int, bytes], tuple[int, tuple[int, ...]]] = {}
        self._tails: dict[tuple[int, bytes], tuple[int, tuple[int, ...]]] = {}
        self._last: tuple[str | None, dict[str, float] | None] = (None, None)
        self._second: tuple[Any, dict[Any, str]] | bool | None = None

    def match_hint(self, hint: str) -> str:
        """The configured language a platform hint names, or ''."""
        if not hint:  # most messages: no platform hint
            return ""
        code = base_code(hint)
        if not code:
            return ""
        for candidate in (code, *_HINT_ALIASES.get(code, ())):
            if candidate in self.languages:
                return candidate
        return ""

    def probabilities(self, text: str) -> dict[str, float] | None:
        """Calibrated P(language | text) over the configured languages, None if no signal.

        The pipeline decides twice on a conversation's first message (`conversation_opened`,
        then `message`), with the same text: the last result is kept for that.
        """
        last = self._last
        if last[0] == text:
            return None if last[1] is None else dict(last[1])
        probs = self._probabilities(text)
        self._last = (text, None if probs is None else dict(probs))  # one atomic swap
        return probs

    def _probabilities(self, text: str) -> dict[str, float] | None:
        if _THREE_LETTERS.search(text) is None:  # fewer than MIN_LETTERS letters
            return None
        if (self._only_cyrillic and not text.isascii() and _CYRILLIC.search(text)
                and len(_NON_CYRILLIC.sub("", text)) * 2 > _letters(text)):
            return {code: float(code == self._only_cyrillic) for code in self.languages}
        # py3langid's public API hides the raw scores we calibrate, hence the private calls
        raw = self._ident._encode(text)[:MAX_BYTES]
        scores = self._raw_score(raw)
        # Naive Bayes log scores grow with length; dividing by sqrt(bytes) keeps the
        # softmax honest for both a 3-word chat line and a long email.
        scale = 1.0 / math.sqrt(len(raw) or 1)
        values = scores.tolist()  # the float32 scores as Python floats, like float(x)
        logits = [values[column] * scale for column in self._columns]
        top = max(logits)
        exp = [math.exp(v - top) for v in logits]
        total = sum(exp)
        return {code: e / total for code, e in zip(self.languages, exp, strict=True)}

    def _raw_score(self, raw: bytes) -> Any:
        """py3langid's `_raw_score`, with its byte-by-byte DFA walk cached per word.

        The walk touches a 40 MB transition table at random, so inside the pipeline (where
        other work has evicted it from the CPU caches) it costs several times its cost in
        a loop. The DFA is deterministic: from a given state, a word (with its trailing
        space) always yields the same features and end state, and customers reuse words.
        The features come out in the same order, so the scores are the same floats.
        """
        features = self._features(raw)
        if not features:
            return self._ident._raw_score(raw)  # py3langid's floor for featureless input
        return self._score(features)

    def _features(self, raw: bytes) -> list[int]:
        """The features py3langid's DFA walk emits for `raw`, in order (walks cached).

        Splitting at b" " gives the same pieces as walking up to and including each space:
        every piece but the last was followed by a space (kept in `_walks`, keyed by the
        piece without it), the last was not (`_tails`).
        """
        walks = self._walks
        features: list[int] = []
        state = 0
        pieces = raw.split(b" ")
        tail = pieces.pop()
        for piece in pieces:
            walked = walks.get((state, piece))
            if walked is None:
                walked = self._walk(walks, state, piece, piece + b" ")
            state = walked[0]
            features += walked[1]
        if tail:
            walked = self._tails.get((state, tail))
            if walked is None:
                walked = self._walk(self._tails, state, tail, tail)
            features += walked[1]
        return features

    def _walk(self, cache: dict[tuple[int, bytes], tuple[int, tuple[int, ...]]], state: int,
              key: bytes, data: bytes) -> tuple[int, tuple[int, ...]]:
        ident = self._ident
        walked = _walk(ident.tk_nextmove, ident._rowbase, ident.tk_output, state, data)
        if len(self._walks) + len(self._tails) >= WALK_CACHE:
            self._walks.clear()  # crude but bounded; refills with common words
            self._tails.clear()
        cache[(state, key)] = walked
        return walked

    def _score(self, features: list[int]) -> Any:
        """`ident._sparse_score(Counter(features), ident.nb_ptc)`, the same float32 values.

        The same operation on the same numbers: the counts' features in first-occurrence
        order, log1p of the counts as float32, a matmul with the model's rows (float16
        values, which numpy casts to float32 for the product: `_table` holds them cast
        once, C-contiguous, so the gather is one cheap `take`), plus the class priors.
        When no feature repeats (most chat lines), the counts are all 1 and log1p(1) comes
        from a precomputed vector. `tests/rules/test_language.py` compares both paths
        with py3langid bit for bit.
        """
        n = len(features)
        if len(set(features)) == n:
            weights, idx = _LOG1P_ONES[:n], features
        else:
            counts = Counter(features)
            weights, idx = _LOG1P.take(list(counts.values())), list(counts)
        scores = weights.dot(self._table.take(idx, axis=0))  # `@` on 1-d by 2-d: one gemv
        scores += self._prior
        return scores

    def _with_second_opinion(self, text: str, probs: dict[str, float]) -> dict[str, float]:
        lingua = self._lingua()
        if lingua is None:
            return probs
        detector, codes = lingua
        other = dict.fromkeys(self.languages, 0.0)
        for value in detector.compute_language_confidence_values(text):
            code = codes.get(value.language)
            if code is not None:
                other[code] = value.value
        w = SECOND_OPINION_WEIGHT
        return {code: (1 - w) * p + w * other[code] for code, p in probs.items()}

    def _lingua(self) -> tuple[Any, dict[Any, str]] | None:
        """lingua restricted to the configured languages it knows (built on first use)."""
        if self._second is None:
            self._second = _build_lingua(self.languages) or False
        return self._second or None

    def detect(self, text: str, *, hint: str = "", previous: str = "") -> tuple[str, float]:
        """(language, confidence) for one customer message.

        Text with no usable letters keeps `previous` (the conversation's or contact's
        language), then the hint, then the default. A detection weaker than
        `MIN_CONFIDENCE` keeps `previous` or the hint when there is one; with neither, the
        detector's best guess wins over the default: "Gå in i" is far likelier Swedish
        than English, and answering in a language the letters do not support is the worse
        error.
        """
        hinted = self.match_hint(hint)
        prev = previous if previous in self.languages else ""
        fallback = prev or hinted or self.default
        probs = self.probabilities(text)
        if probs is None:
            return fallback, 0.0
        if max(probs.values()) < SECOND_OPINION_BELOW and len(text.split()) <= SECOND_OPINION_WORDS:
            probs = self._with_second_opinion(text, probs)
        if hinted:
            probs[hinted] *= HINT_WEIGHT
        if prev:
            probs[prev] *= PREVIOUS_WEIGHT
        total = sum(probs.values())
        best = max(probs, key=probs.__getitem__)
        confidence = probs[best] / total
        if confidence < MIN_CONFIDENCE and (prev or hinted):
            return fallback, confidence
        return best, confidence
