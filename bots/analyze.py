"""Words to comparable terms: folded, synonyms made one, inflection and compounds undone.

Customers write "kvittot", "receipts", "sporingsnummeret" and "salasanaa"; the knowledge
base says "faktura", "invoice", "sporing" and "salasana". Each word is folded (case,
diacritics), reduced by the Snowball stemmer of its language (PyStemmer: C, no data to
load; Ukrainian uses the Russian algorithm, whose endings it largely shares), and mapped
to its synonym group's first member when the admin listed one (`faq.synonyms`, compared
as stems too, so every inflected form of a synonym counts). A long word the knowledge
base does not know is split into two known parts when it can be ("leveransadressen" ->
"leverans" + "adress"), with the linking -s- of Swedish and Norwegian compounds.

Lemmatisers with full dictionaries (simplemma) were measured: 650 MB and 5 s to load the
five languages (400 MB for Finnish alone), more than the whole service may use; the
stemmers cost nothing to load and a few microseconds per new word (cached).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Final

import Stemmer

from bots.text import STOPWORDS, fold

ALGORITHMS: Final = {"sv": "swedish", "fi": "finnish", "nb": "norwegian", "no": "norwegian",
                     "nn": "norwegian", "en": "english", "uk": "russian", "da": "danish",
                     "de": "german", "ru": "russian"}
MIN_COMPOUND: Final = 8  # letters; shorter unknown words are not split
MIN_PART: Final = 3  # letters of each part of a split compound
LINKS: Final = ("s", "e", "")  # linking letters between compound parts (sv, nb)
WORD_CACHE: Final = 16384
MAX_ENDING: Final = 3  # letters an inflected synonym may add to the listed word


def _stemmer(language: str) -> Stemmer.Stemmer | None:
    algorithm = ALGORITHMS.get(language)
    return Stemmer.Stemmer(algorithm) if algorithm else None


def _script_language(word: str, language: str) -> str:
    """Cyrillic words are stemmed as Ukrainian whatever the message was detected as."""
    if word and "\u0400" <= word[0] <= "\u04ff":
        return "uk"
    return language if language != "uk" else "en"


class Analyzer:
    """Text -> terms for one knowledge base (its synonyms and, for compounds, vocabulary)."""

    def __init__(self, synonyms: Mapping[str, Iterable[Iterable[str]]], default: str) -> None:
        self.default = default
        self._stemmers = {code: _stemmer(code) for code in ALGORITHMS}
        self._synonym: dict[tuple[str, str], str] = {}
        for language, groups in synonyms.items():
            for group in groups:
                words = [fold(w) for w in group if fold(w)]
                if not words:
                    continue
                canonical = self._stem(words[0], language)
                for w in words:
                    self._synonym.setdefault((language, w), canonical)
                    self._synonym.setdefault((language, self._stem(w, language)), canonical)
        self.known: frozenset[str] = frozenset()
        self._term = lru_cache(maxsize=WORD_CACHE)(self._term_uncached)

    def set_vocabulary(self, terms: Iterable[str]) -> None:
        """The knowledge base's own terms: what compound parts must be to count."""
        self.known = frozenset(terms)
        self._term.cache_clear()

    def _stem(self, word: str, language: str) -> str:
        stemmer = self._stemmers.get(_script_language(word, language))
        return stemmer.stemWord(word) if stemmer is not None else word

    def _synonym_of(self, word: str, language: str) -> str | None:
        """The group of `word`, or of a listed word it inflects ("kvittot" -> "kvitto")."""
        synonym = self._synonym.get((language, word))
        if synonym is not None or len(word) < 5:
            return synonym
        for end in range(len(word) - 1, max(4, len(word) - MAX_ENDING) - 1, -1):
            synonym = self._synonym.get((language, word[:end]))
            if synonym is not None:
                return synonym
        return None

    def _term_uncached(self, word: str, language: str) -> tuple[str, ...]:
        lang = _script_language(word, language)
        synonym = self._synonym_of(word, lang)
        if synonym is not None:
            return (synonym,)
        stem = self._stem(word, lang)
        synonym = self._synonym.get((lang, stem))
        if synonym is not None:
            return (synonym,)
        if stem in self.known or len(word) < MIN_COMPOUND or not self.known:
            return (stem,)
        return self._split(word, lang) or (stem,)

    def _split(self, word: str, language: str) -> tuple[str, ...]:
        """Two known parts ("leverans" + "adressen"), the longer head first tried."""
        for i in range(MIN_PART, len(word) - MIN_PART + 1):
            head = word[i:]
            head_term = self._term_known(head, language)
            if not head_term:
                continue
            for link in LINKS:
                if link and not word[:i].endswith(link):
                    continue
                modifier = word[:i - len(link)] if link else word[:i]
                if len(modifier) < MIN_PART:
                    continue
                modifier_term = self._term_known(modifier, language)
                if modifier_term:
                    return (modifier_term, head_term)
        return ()

    def _term_known(self, word: str, language: str) -> str:
        stem = self._stem(word, language)
        term = self._synonym.get((language, word)) or self._synonym.get((language, stem)) or stem
        return term if term in self.known else ""

    def terms(self, text: str, language: str = "") -> tuple[str, ...]:
        """Content terms of `text` in order, stop words dropped unless nothing else is left."""
        words = fold(text).split()
        content = [w for w in words if w not in STOPWORDS] or words
        language = language or self.default
        out: list[str] = []
        for w in content:
            out.extend(self._term(w, language))
        return tuple(out)
