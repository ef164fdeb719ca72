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
        self._sizes = sorted({len(p) for p in self._phrases})

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

        The message's word n-grams and inflection stems go into sets once, so each
        phrase is one lookup instead of a scan over the message.
        """
        words = fold(text).split()
        if not words:
            return ""
        grams = {tuple(words[i:i + n]) for n in self._sizes for i in range(len(words) - n + 1)}
        # every one-word phrase that `_inflected` accepts for some word is one of its prefixes
        stems = {w[:k] for w in words
                 for k in range(max(MIN_INFLECTED, len(w) - MAX_SUFFIX), len(w) + 1)}
        for phrase in self._phrases:
            if phrase in grams or (len(phrase) == 1 and phrase[0] in stems):
                return " ".join(phrase)
        return ""


def _inflected(phrase_word: str, word: str) -> bool:
    """The definition `find` implements with prefix sets (kept for the tests)."""
    # Only one-word phrases inflect, and only from 5 letters: "агент" may, "en person"
    # may not (or "en personlig fråga" would call a human).
    return len(phrase_word) >= MIN_INFLECTED and word.startswith(phrase_word) and (
        len(word) - len(phrase_word) <= MAX_SUFFIX)
