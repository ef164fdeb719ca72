"""All keyword conditions of a rule set in one Aho-Corasick automaton.

A message is scanned once, whatever the number of rules: the automaton reports every
keyword occurrence in one pass over the normalised text, and a hit counts only if it is a
whole word (or, for `word*`, a word prefix). Text and keywords are normalised the same way
(case-folded, diacritics removed, whitespace collapsed), so "Återgå" matches "atergå" and
"ATERGA". Boundaries are checked with `str.isalnum`, which knows Cyrillic and å/ä/ö,
unlike RE2's ASCII-only `\\b`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import ahocorasick

# Combining marks removed after NFKD: é -> e, å -> a, й -> и, ї -> і. These are the
# combining blocks of the Latin, Greek and Cyrillic scripts; a class of every Mn code point
# is ten times slower in `re` and adds nothing for the languages we route.
_MARKS = re.compile("[\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff"
                    "\u20d0-\u20ff\ufe20-\ufe2f]+")


def normalize(text: str) -> str:
    """Case- and diacritic-insensitive form with single spaces: the key of every match."""
    folded = text.casefold()
    if not folded.isascii():
        folded = _MARKS.sub("", unicodedata.normalize("NFKD", folded))
    return " ".join(folded.split())


def is_word_char(c: str) -> bool:
    return c.isalnum() or c == "_"


@dataclass(frozen=True, slots=True)
class Keyword:
    """One keyword as the admin wrote it and the id its condition tests for."""

    id: int
    text: str  # normalised, without the trailing '*'
    prefix: bool  # `lasku*`: any word starting with "lasku"


@dataclass
class KeywordIndex:
    """Builder and matcher: `add()` while compiling, `freeze()`, then `scan()` per message."""

    _ids: dict[tuple[str, bool], int] = field(default_factory=dict)
    keywords: list[Keyword] = field(default_factory=list)
    _automaton: ahocorasick.Automaton | None = None

    def add(self, raw: str) -> Keyword:
        """Register a keyword (`word`, `two words` or `prefix*`); equal keywords share an id."""
        prefix = raw.rstrip().endswith("*")
        text = normalize(raw.rstrip().rstrip("*"))
        if not text:
            raise ValueError("a keyword must contain at least one letter or digit")
        key = (text, prefix)
        if key not in self._ids:
            self._ids[key] = len(self.keywords)
            self.keywords.append(Keyword(len(self.keywords), text, prefix))
        return self.keywords[self._ids[key]]

    def freeze(self) -> None:
        automaton = ahocorasick.Automaton()
        entries: dict[str, list[int]] = {}
        for kw in self.keywords:
            slot = entries.setdefault(kw.text, [-1, -1])
            slot[1 if kw.prefix else 0] = kw.id
        for text, (word_id, prefix_id) in entries.items():
            automaton.add_word(text, (len(text), word_id, prefix_id))
        if entries:
            automaton.make_automaton()
            self._automaton = automaton

    def scan(self, normalized: str) -> set[int]:
        """Ids of the keywords that occur in `normalized` as whole words (or prefixes)."""
        found: set[int] = set()
        if self._automaton is None or not normalized:
            return found
        last = len(normalized) - 1
        for end, (length, word_id, prefix_id) in self._automaton.iter(normalized):
            start = end - length + 1
            if start > 0 and is_word_char(normalized[start - 1]):
                continue
            if prefix_id >= 0:
                found.add(prefix_id)
            if word_id >= 0 and (end == last or not is_word_char(normalized[end + 1])):
                found.add(word_id)
        return found
