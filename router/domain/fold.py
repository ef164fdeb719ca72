"""Folding text for comparison: lower case, no diacritics, no punctuation.

Customers type without diacritics, in any case, with emoji and punctuation; knowledge
bases and phrases are written carefully. Both sides are folded the same way, so that
"Förnya" and "fornya", "Що?" and "що" compare equal. Diacritics are dropped after NFKD
(å -> a, й -> и): lossy but symmetric, which is all fuzzy matching needs. The bots, the
FAQ's knowledge-base tools and the suggestions from agents' answers all fold alike.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import cache, lru_cache
from typing import Final

_NON_WORD: Final = re.compile(r"[^\w]+", re.UNICODE)

FOLD_CACHE = 4096  # distinct short texts kept folded (a message is folded 3-6 times)
FOLD_CACHE_MAX_CHARS = 512  # longer texts (emails) are folded each time, never kept


def fold(text: str) -> str:
    """Lower case, diacritics removed, punctuation to spaces, whitespace collapsed.

    The FAQ, the hand-off phrases and the loop guards each fold the same message, and
    the guards fold the last reply again per reply: short texts are cached.
    """
    if len(text) <= FOLD_CACHE_MAX_CHARS:
        return _fold_cached(text)
    return _fold(text)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    if not decomposed.isascii():  # ASCII has no combining marks
        decomposed = decomposed.translate(_combining_marks())
    # one substitution: a run of non-word characters (whitespace included) becomes one
    # space, so no further whitespace collapsing is needed
    return _NON_WORD.sub(" ", decomposed.replace("_", " ")).strip()


_fold_cached = lru_cache(maxsize=FOLD_CACHE)(_fold)


@cache
def _combining_marks() -> dict[int, None]:
    """str.translate table deleting every combining character (built on first use)."""
    return dict.fromkeys(cp for cp in range(sys.maxunicode + 1) if unicodedata.combining(chr(cp)))
