"""Text normalisation shared by the FAQ matcher, hand-off phrases and the loop guard.

Customers type without diacritics, in any case, with emoji and punctuation; the knowledge
base is written carefully. Both sides go through the same `normalise` so that "Förnya" and
"fornya", "Що?" and "що" compare equal. Diacritics are folded after NFKD (å -> a, й -> и),
which is lossy but symmetric, and that is all fuzzy matching needs.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import cache, lru_cache
from typing import Final

_NON_WORD: Final = re.compile(r"[^\w]+", re.UNICODE)

# Function words in sv, fi, nb, uk and en (already normalised). They carry no topic, and
# leaving them in lets "what is your ..." match every question that starts the same way.
_STOPWORDS_RAW: Final = """
a an and are as at be can could do does for from have how i im in is it me my of on or our
please the there to we what when where which who why will with would you your hello hi hey
thanks thank can't cant get got need want any some this that about just still yet
whats what's us
och att det som en ett jag ni du vi har hur kan man min mitt mina er ert era pa i med for
till av om ar var nar vad vilken vilka hej tack ska skulle vill finns fa gor jag mig den de
oss er ert era eran erat
hei kiitos mina sina me te te han se on ovat olen oli ja tai kun miten mita mika missa
milloin voi voinko voitteko onko ole ei en minun teidan meidan kanssa saada haluan pitaa
ma mulla mun sun
teilla teille teilta teita teidat sinulla sinulle sinua sina meilla meille minulla minulle
mulle sulla sulle
og at det som en et jeg dere du vi har hvordan kan min mitt mine deres pa i med for til av om
er var nar hva hvilken hei takk skal skulle vil finnes fa gjor meg den de
и а в на з за до що як де коли чи це я ви ми мене мені мій моя моє мої ваш ваша ваше ваші
наш у є бути можна можу будь ласка привіт дякую хочу треба потрібно мені по від для
свій свою своє свої свого вам вас вами нам нас
"""


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


def tokens(text: str, *, keep_stopwords: bool = False) -> list[str]:
    """Content words of `text` (folded); stop words dropped unless nothing else is left."""
    words = fold(text).split()
    if keep_stopwords:
        return words
    content = [w for w in words if w not in STOPWORDS]
    return content or words


STOPWORDS: Final = frozenset(w for raw in _STOPWORDS_RAW.split() for w in fold(raw).split())
