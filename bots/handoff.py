"""Recognising "let me talk to a person" in five languages.

Phrases are matched word by word on folded text. A one-word phrase also matches an
inflected form that starts with it ("оператор" -> "оператором"; "ihmisen" needs its own
stem "ihmise"), because Finnish and Ukrainian inflect the very nouns people use here;
multi-word phrases match exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from bots.text import fold

MAX_SUFFIX = 4  # letters an inflected form may add to a phrase word
MIN_INFLECTED = 5  # letters a one-word phrase needs before inflected forms match

BUILTIN_PHRASES: Final[Mapping[str, tuple[str, ...]]] = {
    "sv": ("människa", "människan", "riktig person", "handläggare", "prata med någon",
           "kundtjänstmedarbetare", "agent", "operatör", "en person"),
    "fi": ("ihminen", "ihmise", "ihmistä", "oikea henkilö", "asiakaspalvelija", "asiakaspalvelijan",
           "virkailija", "agentti", "operaattori", "puhua jonkun kanssa"),
    "nb": ("menneske", "ekte person", "saksbehandler", "kundebehandler", "snakke med noen",
           "kundeservicemedarbeider", "agent", "operatør"),
    "uk": ("людина", "людин", "жива людина", "оператор", "менеджер", "консультант",
           "живою людиною", "співробітник"),
    "en": ("agent", "human", "real person", "representative", "operator", "talk to someone",
           "speak to someone", "customer service rep", "live person", "speak to a person",
           "talk to a person"),
}


class HandoffPhrases:
    """Compiled phrases; `find` returns the phrase that matched, or ''."""

    def __init__(self, phrases: Iterable[str]) -> None:
        compiled = {tuple(fold(p).split()) for p in phrases}
        self._phrases = sorted((p for p in compiled if p), key=len, reverse=True)
        # `find` returns the first matching phrase of `_phrases`: phrases by first word,
        # with their rank, and the one-word phrases that inflect (see `_inflected`)
        self._by_first: dict[str, list[tuple[int, tuple[str, ...]]]] = {}
        for rank, phrase in enumerate(self._phrases):
            self._by_first.setdefault(phrase[0], []).append((rank, phrase))
        self._stems = {p[0]: rank for rank, p in enumerate(self._phrases)
                       if len(p) == 1 and len(p[0]) >= MIN_INFLECTED}

    @classmethod
    def build(cls, extra: Mapping[str, list[str]], *, builtin: bool) -> HandoffPhrases:
        words: list[str] = []
        if builtin:
            for phrases in BUILTIN_PHRASES.values():
                words.extend(phrases)
        for phrases in extra.values():
            words.extend(phrases)
        return cls(words)

    def find(self, text: str) -> str:
        """The first phrase (longest first) the text contains, or ''.

        Each word of the message is looked up once as a phrase's first word, and its
        inflection stems (a one-word phrase it may inflect) once each; the best rank of
        what matched is the phrase a scan of `_phrases` would have found first.
        """
        words = fold(text).split()
        best = len(self._phrases)
        by_first, stems = self._by_first, self._stems
        for i, word in enumerate(words):
            starting = by_first.get(word)
            if starting is not None:
                for rank, phrase in starting:
                    if rank < best and (len(phrase) == 1 or tuple(words[i:i + len(phrase)]) == phrase):
                        best = rank
            # shorter stems only: the word itself was looked up above
            for k in range(max(MIN_INFLECTED, len(word) - MAX_SUFFIX), len(word)):
                rank = stems.get(word[:k], best)
                if rank < best:
                    best = rank
        return " ".join(self._phrases[best]) if best < len(self._phrases) else ""


def _inflected(phrase_word: str, word: str) -> bool:
    """The definition `find` implements with prefix sets (kept for the tests)."""
    # Only one-word phrases inflect, and only from 5 letters: "агент" may, "en person"
    # may not (or "en personlig fråga" would call a human).
    return len(phrase_word) >= MIN_INFLECTED and word.startswith(phrase_word) and (
        len(word) - len(phrase_word) <= MAX_SUFFIX)
