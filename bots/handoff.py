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
        words = fold(text).split()
        for phrase in self._phrases:
            n = len(phrase)
            for i in range(len(words) - n + 1):
                window = words[i:i + n]
                if window == list(phrase) or (n == 1 and _inflected(phrase[0], window[0])):
                    return " ".join(phrase)
        return ""


def _inflected(phrase_word: str, word: str) -> bool:
    # Only one-word phrases inflect, and only from 5 letters: "агент" may, "en person"
    # may not (or "en personlig fråga" would call a human).
    return len(phrase_word) >= 5 and word.startswith(phrase_word) and (
        len(word) - len(phrase_word) <= MAX_SUFFIX)
