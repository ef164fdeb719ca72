"""Text normalisation shared by the FAQ matcher, hand-off phrases and the loop guard.

Customers type without diacritics, in any case, with emoji and punctuation; the knowledge
base is written carefully. Both sides go through the same `normalise` so that "Förnya" and
"fornya", "Що?" and "що" compare equal. Diacritics are folded after NFKD (å -> a, й -> и),
which is lossy but symmetric, and that is all fuzzy matching needs.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

_NON_WORD: Final = re.compile(r"[^\w]+", re.UNICODE)
_SPACES: Final = re.compile(r"\s+")

# Function words in sv, fi, nb, uk and en (already normalised). They carry no topic, and
# leaving them in lets "what is your ..." match every question that starts the same way.
_STOPWORDS_RAW: Final = """
a an and are as at be can could do does for from have how i im in is it me my of on or our
please the there to we what when where which who why will with would you your hello hi hey
thanks thank can't cant get got need want any some this that about just still yet
och att det som en ett jag ni du vi har hur kan man min mitt mina er ert era pa i med for
till av om ar var nar vad vilken vilka hej tack ska skulle vill finns fa gor jag mig den de
hei kiitos mina sina me te te han se on ovat olen oli ja tai kun miten mita mika missa
milloin voi voinko voitteko onko ole ei en minun teidan meidan kanssa saada haluan pitaa
ma mulla mun sun
og at det som en et jeg dere du vi har hvordan kan min mitt mine deres pa i med for til av om
er var nar hva hvilken hei takk skal skulle vil finnes fa gjor meg den de
и а в на з за до що як де коли чи це я ви ми мене мені мій моя моє мої ваш ваша ваше ваші
наш у є бути можна можу будь ласка привіт дякую хочу треба потрібно мені по від для
"""


def fold(text: str) -> str:
    """Lower case, diacritics removed, punctuation to spaces, whitespace collapsed."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", _NON_WORD.sub(" ", stripped.replace("_", " "))).strip()


def tokens(text: str, *, keep_stopwords: bool = False) -> list[str]:
    """Content words of `text` (folded); stop words dropped unless nothing else is left."""
    words = fold(text).split()
    if keep_stopwords:
        return words
    content = [w for w in words if w not in STOPWORDS]
    return content or words


STOPWORDS: Final = frozenset(w for raw in _STOPWORDS_RAW.split() for w in fold(raw).split())
