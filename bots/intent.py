"""Recognising a request for a person ("can I talk to someone?") in five languages.

A bare noun is not a request: "your agent Sara was really helpful", "someone stole the
package" and "does the chair hold a person of 120 kg?" all name a person and ask for
nobody. A request is a *request form* aimed at a person or the service:

- a request verb in a present, imperative, infinitive or modal form (talk, chat, connect,
  put through, give me, I want; prata, koppla; snakke, sette over; puhua, yhdistää;
  поговорити, з'єднайте) together with a *target* (a person, an agent, customer service,
  someone) that is not described as an object ("a gift for a person", "a person who");
- "call me (back)": a call verb with a first-person object ("ring mig", "soittakaa
  minulle", "передзвоніть мені"); "can I call you?" is the phone-number question;
- refusing the bot: a negation or a stop verb next to "bot" ("not a robot", "lopeta
  botti", "бот, зупинись");
- a short message that is nothing but a target ("human please", "asiakaspalvelija pliis").

Past forms are simply absent from the verb lists ("I talked to someone yesterday",
"soitin teille", "передзвонив"), and a negation just before the verb cancels it ("no need
for anyone to call"), unless its object is the bot ("I don't want to chat with a bot").
Words are compared folded (case and diacritics), targets also by prefix (Finnish and
Ukrainian inflect them) and, for longer words, with a typo tolerance.

The cue lists were tuned on the tuning part of tests/eval/handoff.*.yaml only; the test
part's figures are in docs/bots.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Final

from rapidfuzz import fuzz, process

from bots.text import fold

WINDOW: Final = 6  # words between a request verb and its target (either side)
NEGATION_WINDOW: Final = 5  # words before a verb in which a negation cancels it
SHORT_MESSAGE: Final = 4  # words: "human agent please" is a request by itself
TYPO_SIMILARITY: Final = 82  # rapidfuzz ratio for a target word written with a typo
MIN_TYPO_LENGTH: Final = 5


def _words(raw: str) -> frozenset[str]:
    return frozenset(w for item in raw.split(",") for w in fold(item).split() if w)


# Request verbs, exact folded forms (no past tenses).
VERBS: Final = _words("""
talk, speak, chat, connect, transfer, escalate, put, get, give, want, need, reach, contact,
let, forward, pass, send, switch, bring, call, ring, phone, wanna, gimme, talking, speaking,
prata, pratar, snacka, snackar, tala, talar, chatta, chattar, koppla, kopplar, kopplas,
kontakta, ringa, ring, ringer, ge, vill, behover, slussa, skicka, overfora, hanvisa, fa,
snakke, snakker, prate, prater, chatte, koble, kobles, sett, sette, settes, satt, ringe,
kontakte, gi, trenger, send, sende, overfore,
puhua, puhumaan, puhuisin, puhun, jutella, juttelemaan, keskustella, keskustelemaan,
yhdista, yhdistakaa, yhdistaa, yhdistaisitteko, yhdistatteko, ohjaa, ohjatkaa, ohjata,
siirra, siirtakaa, siirtaa, soittakaa, soita, soittaisitteko, soitatteko, soittaa,
soittamaan, saada, saisinko, saanko, haluan, haluun, halusin, tarvitsen, antakaa, anna,
tavoittaa, yhteys, yhteyden, yhteytta, ottakaa, ottaa,
поговорити, поговорю, говорити, розмовляти, поспілкуватися, спілкуватися, з'єднайте,
з'єднати, з'єднай, з'єднаєте, зв'язатися, зв'яжіться, зв'яжіть, переведіть, перевести,
переведи, передайте, передати, підключіть, підключити, підключи, покличте, поклич, кличте,
дайте, дай, давай, давайте, хочу, потрібен, потрібна, потрібно, треба, зателефонуйте,
зателефонуй, зателефонує, зателефонувати, передзвоніть, передзвони, передзвонити,
подзвоніть, подзвонити, наберіть, напишіть, звернутися, зв'язок
""")

# Verbs that make a request only with a first-person object ("call me"; "call you" asks
# for the phone number).
CALL_VERBS: Final = _words("""
call, ring, phone, ringa, ring, ringer, ringe, ringes, soittakaa, soita, soittaisitteko,
soitatteko, soittaa, soittamaan, soittaisi, зателефонуйте, зателефонуй, зателефонує,
зателефонувати, передзвоніть, передзвони, передзвонити, подзвоніть, подзвонити, наберіть,
зв'яжіться, зв'язалися
""")
ME: Final = _words("""
me, mig, meg, minulle, minua, mulle, mua, minut, mut, мені, мене, мною, back, upp, tilbake,
takaisin
""")

# Who a request can be aimed at. Matched by prefix (inflection) and with typos.
TARGETS: Final = _words("""
human, humans, person, someone, somebody, anyone, anybody, agent, agents, operator,
representative, rep, staff, employee, manager, supervisor, specialist, advisor, adviser,
consultant, support, helpdesk, people,
manniska, manniskor, person, personal, nagon, nagot, handlaggare, kundtjanst, kundservice,
supporten, support, agent, operator, chef, chefen, ansvarig, medarbetare, radgivare,
specialist, expert, kundtjanstmedarbetare, handlaggaren,
menneske, mennesker, person, personale, noen, saksbehandler, kundeservice, kundesenter,
kundestotte, support, agent, operator, sjef, sjefen, leder, radgiver, medarbeider, ansatt,
spesialist, kundebehandler,
ihminen, ihmise, ihmisen, ihmiseen, ihmista, henkilo, henkiloon, joku, jonkun, johonkin,
jollekin, joltakin, jonkin, asiakaspalvelu, asiakaspalvelija, virkailija, agentti,
operaattori, esimies, esimiehen, esimieheen, myyja, tuki, tukeen, tuen, asiantuntija,
tyontekija, asiakastuki, asiakastukeen,
людина, людину, людиною, людини, людині, оператор, менеджер, консультант, спеціаліст,
працівник, співробітник, підтримка, підтримки, підтримку, підтримкою, хтось, когось,
комусь, кимось, адміністратор, керівник, фахівець, фахівця, оператора
""")
# Short targets that only count as exact words (prefixes would catch too much)
EXACT_ONLY: Final = _words("rep, tuki, tuen, chef, sjef, leder, noen, joku, agent, people")
# "for a person", "a person who": the target is described, not addressed
DESCRIBED_BEFORE: Final = _words("for, för, для, per")
DESCRIBED_AFTER: Final = _words("who, som, joka, jolla, який, яка, що, with, med, kg")

NEGATIONS: Final = _words("""
not, dont, don, no, never, doesn, didn, inte, ej, aldrig, ikke, ikkje, aldri, ei, en, ala,
emme, ette, eivat, не, ні, нема, без
""")
BOTS: Final = _words("bot, bots, robot, robotti, botti, botin, bottia, chatbot, chattbot, "
                     "automat, automaatti, бот, бота, ботом, боту, робот, робота, ai")
STOP_VERBS: Final = _words("stop, enough, sluta, stoppa, stopp, slutt, lopeta, lopettakaa, "
                           "riittaa, зупинись, зупиніться, вимкни, досить, хватить")
FILLERS: Final = _words("""
please, plz, pls, now, asap, thanks, thank, you, a, an, the, real, live, actual, i, want, need,
talk, speak, to, with, en, ett, et, tack, takk, kiitos, pliis, nyt, heti, oikea, oikean,
riktig, ekte, levande, live, будь, ласка, дякую, живу, живий, живою, справжня, справжню,
terve, hei, hej, hi, hello, привіт, a, ok, okay, jag, vill, jeg, vil, haluan, хочу, dere,
ni, te, meg, mig, on, ja, og, och, і, та
""")
SOMEONE: Final = _words("""
someone, somebody, anyone, anybody, nagon, noen, joku, jonkun, johonkin, jollekin, joltakin,
jonkin, хтось, когось, комусь, кимось, nagot
""")


class HandoffIntent:
    """`find(text)` names the cue of a request for a person, or returns ''."""

    def __init__(self, targets: Iterable[str] = TARGETS) -> None:
        self._targets = frozenset(targets)
        self._prefixes = tuple(sorted(t for t in self._targets
                                      if len(t) >= MIN_TYPO_LENGTH and t not in EXACT_ONLY))
        self._typo_vocab = list(self._prefixes)
        self._is_target = lru_cache(maxsize=8192)(self._target)

    def _target(self, word: str) -> bool:
        if word in self._targets:
            return True
        if len(word) < 4:
            return False
        if any(word.startswith(p) and len(word) - len(p) <= 6 for p in self._prefixes):
            return True
        if len(word) < MIN_TYPO_LENGTH - 1:
            return False
        hit = process.extractOne(word, self._typo_vocab, scorer=fuzz.ratio,
                                 score_cutoff=TYPO_SIMILARITY)
        return hit is not None

    def find(self, text: str) -> str:
        words = fold(text).split()
        if not words:
            return ""
        targets = [i for i, w in enumerate(words)
                   if self._is_target(w) and not self._described(words, i)]
        if targets and len(words) <= SHORT_MESSAGE and all(
                self._is_target(w) or w in FILLERS for w in words) and not all(
                words[i] in SOMEONE for i in targets):
            return f"short request: {' '.join(words)}"
        for i, word in enumerate(words):
            if word in BOTS and self._refused(words, i):
                return f"refuses the bot: {' '.join(words[max(0, i - 3):i + 1])}"
        for i, word in enumerate(words):
            if word in CALL_VERBS and not self._negated(words, i) and any(
                    w in ME for w in words[max(0, i - 3):i + 4]):
                return f"call me: {' '.join(words[max(0, i - 2):i + 3])}"
            if word in VERBS and not self._negated(words, i):
                near = [t for t in targets if abs(t - i) <= WINDOW]
                if near:
                    return f"request: {word} + {words[near[0]]}"
        return ""

    @staticmethod
    def _described(words: list[str], i: int) -> bool:
        before = words[max(0, i - 2):i]
        after = words[i + 1:i + 2]
        return any(w in DESCRIBED_BEFORE for w in before) or any(w in DESCRIBED_AFTER for w in after)

    @staticmethod
    def _negated(words: list[str], i: int) -> bool:
        window = words[max(0, i - NEGATION_WINDOW):i]
        if not any(w in NEGATIONS for w in window):
            return False
        # "I don't want to chat with a bot": the negation is about the bot
        return not any(w in BOTS for w in words[i:i + 5])

    @staticmethod
    def _refused(words: list[str], i: int) -> bool:
        window = words[max(0, i - 7):i + 3]
        return any(w in NEGATIONS or w in STOP_VERBS for w in window)
