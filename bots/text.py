"""The bots' words: stop words in five languages, and content tokens of a message.

Folding (lower case, no diacritics, no punctuation) lives in router/domain/fold.py, since the
core's knowledge-base tools fold alike; it is re-exported here for the bots.
"""

from __future__ import annotations

from typing import Final

from router.domain.fold import fold as fold

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


def tokens(text: str, *, keep_stopwords: bool = False) -> list[str]:
    """Content words of `text` (folded); stop words dropped unless nothing else is left."""
    words = fold(text).split()
    if keep_stopwords:
        return words
    content = [w for w in words if w not in STOPWORDS]
    return content or words


STOPWORDS: Final = frozenset(w for raw in _STOPWORDS_RAW.split() for w in fold(raw).split())
