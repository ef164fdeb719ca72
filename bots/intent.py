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

import itertools
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Final

from rapidfuzz import fuzz, process

from bots.text import fold

WINDOW: Final = 6  # words between a request verb and its target (either side)
NEGATION_WINDOW: Final = 5  # words before a verb in which a negation cancels it
SHORT_MESSAGE: Final = 4  # words: "human agent please" is a request by itself
TYPO_SIMILARITY: Final = 86  # rapidfuzz ratio for a target word written with a typo
MIN_TYPO_LENGTH: Final = 5


# "з'єднайте", "звʼязати" and "don't" are one word each, whatever apostrophe was typed
_APOSTROPHE: Final = re.compile(r"(?<=\w)['’ʼ`´](?=\w)")


# letters NFKD leaves alone: "overført" is written "overfort" in the lists below
_LETTERS: Final = str.maketrans({"ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae", "ß": "ss"})


def _fold(text: str) -> str:
    return fold(_APOSTROPHE.sub("", text).translate(_LETTERS))


def _words(raw: str) -> frozenset[str]:
    return frozenset(w for item in raw.split(",") for w in _fold(item).split() if w)


# Request verbs, exact folded forms (no past tenses).
VERBS: Final = _words("""
talk, speak, chat, connect, transfer, escalate, put, get, give, want, need, reach, contact,
let, forward, pass, send, switch, bring, wanna, gimme, talking, speaking, transferred,
passed, hand, connecting, connected, write, chatting, rather, prefer, deal,
prata, pratar, snacka, snackar, tala, talar, chatta, chattar, koppla, kopplar, kopplas,
kontakta, ge, vill, behover, slussa, skicka, overfora, hanvisa, fa, skriva, skriver,
kopplad, overflyttad, overflytta, flytta, slapp, slapp, vidarekopplad, vidarekoppla,
overford, overfors, eskalera, eskalerar, hellre, lata, lat, hamta, diskutera, diskuterar,
snakke, snakker, prate, prater, chatte, koble, kobles, sett, sette, settes, satt, ringe,
kontakte, gi, trenger, send, sende, overfore, overfort, skrive, skriver, videre, heller,
eskalere, foretrekker, hent, hente, diskutere, diskuterer, vil, onsker, onske,
puhua, puhumaan, puhuisin, puhun, jutella, juttelemaan, keskustella, keskustelemaan,
yhdista, yhdistakaa, yhdistaa, yhdistaisitteko, yhdistatteko, ohjaa, ohjatkaa, ohjata,
siirra, siirtakaa, siirtaa, saada, saisinko, saanko, haluan, haluun, haluaisin, haluisin,
tarvitsen, tarviin, tarvitsisin, antakaa, anna, tavoittaa, yhteys, yhteyden, yhteytta,
ottakaa, ottaa, tarkistaa, kirjoittaa, kirjoittamaan, kirjoittaisin, jutella, juttelee, juttelemaan,
siirretyksi, siirretaan, siirtykaa, valittaa, valittakaa, eteenpain, asioida, asioisin,
hoitaisin, kaipaisin, kaipaan, mieluummin, mieluiten, paasta, paasen, hae, hakekaa,
toivoisin, toivon, pyydan, keskustelemaan,
поговорити, поговорю, говорити, розмовляти, поспілкуватися, спілкуватися, поспілкуватись,
спілкуватись, з'єднайте, з'єднати, з'єднай, з'єднаєте, зв'язатися, зв'язатись, зв'яжіться,
зв'яжіть, зв'язати, переведіть, перевести, переведи, передайте, передати, підключіть,
підключити, підключи, переключіть, переключити, переключи, покличте, поклич, кличте, дайте,
дай, давай, давайте, хочу, потрібен, потрібна, потрібно, треба, напишіть, напише, написати,
звернутися, зв'язок, отримати, краще, волію, кликніть, покличте, попросіть, попросити
""")

# Verbs that make a request only with a first-person object ("call me"; "call you" asks
# for the phone number).
CALL_VERBS: Final = _words("""
call, ring, phone, ringa, ring, ringer, ringe, ringes,
soittakaa, soita, soittaisitteko, soitatteko, soittaa, soittamaan, soittaisi, зателефонуйте,
зателефонуй, зателефонує, зателефонувати, передзвоніть, передзвони, передзвонити, подзвоніть,
подзвонити, наберіть, набрати, зв'яжіться, зв'язалися
""")
ME: Final = _words("""
me, mig, meg, minulle, minua, mulle, mua, minut, mut, minuun, muhun, мені, мене, мною, back,
upp, tilbake, takaisin, kanssani
""")
# What someone is asked to do ("could someone look at my order?", "joku ihminen vastaamaan
# NYT"): a request when a person or "someone" comes just before
HELP_VERBS: Final = _words("""
look, check, help, answer, handle, reply, respond, continue, kolla, kika, titta, hjalpa, svara,
ta, se, sjekke, sjekker, hjelpe, svare, katsoa, katsomaan, vastata, vastaamaan, vastaisi,
hoitaa, hoitamaan, jatkaa, jatkamaan, jatkaisi, tarkistaa, tarkistamaan,
auttaa, auttamaan, auttaisi, глянути, глянув, глянула, подивитися, допомогти, допоможе,
відповісти, відповів, розібратися
""")
# "Finns det någon som...", "is there anyone there?", "є тут адмін?": asking whether a person
# is there
EXIST_POSITION: Final = 3  # "Finns det...", "алоо є хтось": the question starts with it
EXIST: Final = _words("finns, finnes, onko, onks, ole, є, есть, anyone")
# "är det", "er det", "is there": existence only with "there" after them
EXIST_WITH: Final = _words("is, are, er, ar, e")
THERE: Final = _words("det, d, there, noen, nan, nagon, nagra, anyone, someone, any")
HERE: Final = _words("""
som, who, joka, jota, хто, der, there, dar, tut, тут, siel, siella, talla, на, real, hos,
toissa, paikalla, jobbar, jobber, working, today, idag, tanaan,
ekte, riktigt, oikeesti, живий, online
""")
# "koppla mig vidare", "overfør meg", "transfer me": moving the customer, no person named
MOVE_VERBS: Final = _words("""
koppla, skicka, slussa, overfor, overfora, flytta, koble, sett, send, sende, siirra, siirtakaa,
yhdista, yhdistakaa, ohjaa, ohjatkaa, transfer, connect, put, forward, pass, переведіть,
з'єднайте, перемкніть, підключіть
""")
MOVED_ON: Final = _words("""
vidare, videre, eteenpain, through, on, over, nu, now, nyt, heti, asap, please, pls, tack,
takk, kiitos, далі
""")
# "escalate this": a request for someone with more authority
ESCALATE: Final = _words("eskalera, eskaler, eskalere, eskaloi, eskaloikaa, escalate, ескалюйте")
# "är det här en automatisk chatt eller en människa?": a question about the bot
EITHER_OR: Final = _words("eller, or, vai, tai, чи, або")
AUTOMATIC: Final = _words("automatisk, automatic, automaattinen, automatiskt, автоматичний")

# "ta kontakt med mig", "ottakaa minuun yhteyttä", "contact me": a request to be contacted
CONTACT_ME: Final = _words("""
kontakt, kontakta, kontakte, hora, hore, contact, yhteytta, yhteyden, зв'яжіться, зв'язатися,
напишіть, get
""")
CONTACTED: Final = _words("kontaktad, kontaktas, kontaktet, kontaktes, contacted, kontaktade")
# "are you a bot?": a question about the bot, not a request
YOU: Final = _words("you, u, du, ni, oletko, olet, ти, ви, te, dere, r")
# job applications name the service's people without asking for one
JOBS: Final = _words("""
job, jobs, position, positions, vacancy, vacancies, apply, hire, hiring, jobb, soka, ansokan,
tjanst, stilling, soke, soknad, tyopaikka, tyopaikkoja, hakea, hakemus, вакансії, вакансія,
вакансій, працювати, резюме
""")
# a negation after the verb in Swedish and Norwegian: "jag behöver inte", "trenger ikke"
NEGATION_AFTER: Final = _words("inte, ikke, ikkje, ej, aldrig, aldri")
# "kan ni inte...", "går det inte att...", "kunne jeg ikke...", "why can't I...": a polite or
# impatient question, not a negation
MODALS: Final = _words("""
kan, kunde, kunne, gar, far, fa, ar, er, skulle, ville, vil, can, could, would, will, voi,
voisi, voisitte, voitteko, miksi, varfor, hvorfor, why, чому, чи
""")
PRONOUNS: Final = _words("ni, du, jag, jeg, dere, det, man, you, i, we, it, me, ma, te")

# "bli uppringd", "bli ringt opp", "be called back": a passive call is a request for one
CALLED: Final = _words("uppringd, uppringda, ringd, ringt, oppringt, called, soitettu")
MODAL_BEFORE_CALL: Final = _words("kunne, kunde, could, would, kan, can, voisi, voisitte")
PASSIVE: Final = _words("bli, be, being, get, blir, tulla")
# a callback asked for by name
CALLBACK_NOUNS: Final = _words("""
callback, soittopyynto, soittopyynnon, takaisinsoitto, takaisinsoittoa, takaisinsoiton,
ringtillbaka, ateruppringning, tilbakeringing, yhteydenottoa,
зворотний дзвінок, дзвінок
""")
# Past markers just before a verb: "ble satt over", "was transferred" happened already
PAST_MARKERS: Final = _words("ble, blev, blei, was, were, vart, blivit, blitt")
# Verbs that want their target after them ("I want a human"): "min chef vill ha kvittot"
# and "підтримки? Хочу у вас працювати" name a person before the verb, as its subject
FORWARD_ONLY: Final = _words("""
want, need, wanna, give, gimme, vill, behover, ge, vil, trenger, gi, haluan, haluun,
haluaisin, haluisin, tarvitsen, tarviin, tarvitsisin, anna, antakaa, хочу, потрібен,
потрібна, потрібно, треба, отримати, saada, saisinko, saanko, kirjoittaa, kirjoittaisin,
напише, написати, напишіть
""")
# English verbs that are requests only with a first person near ("put me through", "can
# I be passed on"); "pass on my thanks", "send the invoice to support" are not
NEEDS_FIRST_PERSON: Final = _words("pass, passed, send, forward, put, get, bring, let, give, "
                                   "switch, hand, skicka, send, sende")
FIRST_PERSON: Final = _words("me, i, im, id, ill, us, we, mig, jag, meg, jeg")
# "give": Finnish "anna" is also a name ("thanks to Anna in support"); it must be followed by
# the person or by "me"
GIVE: Final = _words("anna, antakaa, gi, ge, give, gimme")
# "щоб мені зателефонував": a past form after "щоб" (so that) is a wish
WISHED_CALLS: Final = _words("зателефонував, зателефонувала, передзвонив, передзвонила, "
                             "подзвонив, подзвонила, глянув, глянула, подивився, подивилася, "
                             "написав, написала, зв'язався, зв'язалася")
SO_THAT: Final = _words("щоб, aby")
# "how do I contact support?" asks for contact details, not for a person now
HOW: Final = _words("how, hur, hvordan, miten, kuinka, як, way, tapa, satt, mate, måte")
CONTACT_VERBS: Final = _words("""
contact, reach, get, kontakta, kontakte, na, nå, tavoittaa, yhteys, yhteyden, yhteytta,
ottaa, звернутися, зв'язатися, зв'язатись, зв'язок
""")
# "a real person", "ekte folk", "oikeeta ihmistä", "хтось живий": asking for a human
REAL: Final = _words("""
real, actual, live, living, verklig, verkliga, riktig, riktiga, riktigt, levande, ekte,
virkelig, oikeesti, жива,
levende, oikea, oikean, oikeeta, oikeaa, oikeita, elava, elavaa, живий, живу, живою, живого,
справжня, справжню, справжній, справжнього
""")

# Who a request can be aimed at. Matched by prefix (inflection) and with typos.
TARGETS: Final = _words("""
human, humans, person, someone, somebody, anyone, anybody, agent, agents, operator,
representative, rep, staff, employee, manager, supervisor, specialist, advisor, adviser,
consultant, support, helpdesk, people, colleague, customerservice, customersupport,
customercare,
manniska, manniskor, person, personal, nagon, nan, handlaggare, kundtjanst, kundservice,
supporten, support, agent, operator, chef, chefen, ansvarig, medarbetare, radgivare,
specialist, expert, kundtjanstmedarbetare, handlaggaren, kollega, kollegor, kollegan,
anstalld, anstallda, boss,
menneske, mennesker, person, personale, noen, saksbehandler, kundeservice, kundesenter,
kundestotte, support, agent, operator, sjef, sjefen, leder, radgiver, medarbeider, ansatt,
spesialist, kundebehandler, kollega, kolleger, kollegaer, folk,
ihminen, ihmise, ihmisen, ihmiseen, ihmista, henkilo, henkiloon, joku, jonkun, johonkin,
jollekin, joltakin, jonkin, asiakaspalvelu, asiakaspalvelija, virkailija, agentti,
operaattori, esimies, esimiehen, esimieheen, myyja, tuki, tukeen, tuen, asiantuntija,
tyontekija, asiakastuki, asiakastukeen, tukihenkilo, kollega, kollegalle, henkilokohtai,
myyja, myyjan, ketaan, agentille, agentin, pomo, pomon, pomolle, asiakasneuvoja, esimie,
людина, людину, людиною, людини, людині, оператор, менеджер, консультант, спеціаліст,
працівник, співробітник, підтримка, підтримки, підтримку, підтримкою, хтось, когось,
комусь, кимось, адміністратор, керівник, фахівець, фахівця, оператора, колег, колеги,
колегу, сапорт, саппорт, сапортом, особою, особу, особа, супервайзер, фахів, адмін, адміна
""")
# Short targets that only count as exact words (prefixes would catch too much)
EXACT_ONLY: Final = _words("rep, tuki, tuen, chef, sjef, leder, noen, joku, agent, people, "
                           "boss, pomo")
# "vem kan jag prata med?", "who can I talk to about this?": a question that starts with who
WHO: Final = _words("vem, hvem, who, kenen, kenelle, кому, з ким")
TALK: Final = _words("""
talk, speak, chat, prata, tala, snacka, snakke, prate, puhua, jutella, keskustella,
поговорити, говорити, звернутися
""")
# "for a person", "a person who": the target is described, not addressed
# (and "my boss", "min chef": the customer's own people are not the service's)
DESCRIBED_BEFORE: Final = _words("for, för, для, per, my, min, mitt, minun, mun, мій, моя, мого, "
                                 "моєї, моєму")
DESCRIBED_AFTER: Final = _words("who, som, joka, jolla, який, яка, що, with, med, kg")

NEGATIONS: Final = _words("""
not, dont, don, no, never, doesn, didn, inte, ej, aldrig, ikke, ikkje, aldri, ei, ala,
emme, ette, eivat, не, ні, нема, без, nej, nei, ingen, inga, ingenting, nothing
""")
BOTS: Final = _words("""
bot, bots, robot, robotti, botti, botin, bottia, botille, robotin, robottia, robotille, chatbot,
chattbot, boten, botten, roboten, roboter, robotar, robotarna, botter, bottene, robotene,
robotteja, botteja, машиною, машина, automat, automaatti, automaatille, automaatin,
бот, бота, ботом, боту, робот, робота, роботом, роботу, ai
""")
STOP_VERBS: Final = _words("stop, enough, sluta, stoppa, stopp, slutt, lopeta, lopettakaa, "
                           "riittaa, зупинись, зупиніться, вимкни, досить, хватить, stang, "
                           "sla, turn")
FILLERS: Final = _words("""
please, plz, pls, now, asap, thanks, thank, you, a, an, the, real, live, actual, i, want, need,
talk, speak, to, with, en, ett, et, tack, takk, kiitos, pliis, nyt, heti, oikea, oikean,
riktig, ekte, levande, live, будь, ласка, дякую, живу, живий, живою, справжня, справжню,
жива, пліз, плз, срочно, терміново, palvelua, palvelu, hit, here,
terve, hei, hej, hi, hello, привіт, a, ok, okay, jag, vill, jeg, vil, haluan, хочу, dere,
ni, te, meg, mig, on, ja, og, och, і, та
""")
# "чи не могли б ви...", "eikö joku voisi": a polite question, not a negation
POLITE_BEFORE_NEGATION: Final = _words("чи, eiko")
SOMEONE: Final = _words("""
someone, somebody, anyone, anybody, nagon, noen, joku, jonkun, johonkin, jollekin, joltakin,
jonkin, хтось, когось, комусь, кимось, nan, ketaan, kukaan, joku
""")


# Words without which no request form can fire (each path in `_sentence_cue` and
# `_verb_cue` needs one of these or a target): the cheap test `find` starts with.
TRIGGERS: Final = (BOTS | CALLBACK_NOUNS | CALLED | CONTACTED | CONTACT_ME | WISHED_CALLS
                   | WHO | ESCALATE | MOVE_VERBS | CALL_VERBS | SOMEONE)


# two-word names of the service, read as one target
_BIGRAMS: Final = {("customer", "service"): "customerservice",
                   ("customer", "servce"): "customerservice",
                   ("customer", "support"): "customersupport",
                   ("customer", "care"): "customercare"}


def _joined(words: list[str]) -> list[str]:
    out: list[str] = []
    for word in words:
        if out and (out[-1], word) in _BIGRAMS:
            out[-1] = _BIGRAMS[(out[-1], word)]
        else:
            out.append(word)
    return out


# Finnish "en" (I do not) is the Swedish and Norwegian article: it negates only before a verb
_FINNISH_NEGATED_VERBS: Final = ("halu", "tarvi", "kaipa", "ole", "voi", "jaks", "ymmar", "pida")


def _finnish_en(words: list[str], start: int, end: int) -> bool:
    return any(words[k] == "en" and words[k + 1].startswith(_FINNISH_NEGATED_VERBS)
               for k in range(start, end) if k + 1 < len(words))


# sentences are read one at a time: "I don't know. Connect me to support" is a request
_SENTENCE_END: Final = re.compile(r"[.!?;:\n]+(?:\s+|$)|\s+[-–]\s+|,\s+")
_STRONG_END: Final = re.compile(r"[.!?]+")
SHORT_SENTENCES_MESSAGE: Final = 10  # words: "тупий бот. оператор!!!" (a short last sentence)


def _inverted_question(words: list[str], k: int) -> bool:
    """Whether the negation at k is in "kan ni inte", "går det inte", "why can't I"..."""
    before = words[max(0, k - 3):k]
    return (len(before) >= 2 and before[-2] in MODALS and before[-1] in PRONOUNS) or any(
        w in ("why", "varfor", "hvorfor", "miksi", "чому") for w in before)


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
        tokens = _fold(text).split()
        if not self._may_ask(tokens):
            return ""
        words = _joined(tokens)
        if any(w in EITHER_OR for w in words) and any(
                w in BOTS or w in AUTOMATIC for w in words) and not any(
                w in NEGATIONS or w in STOP_VERBS for w in words):
            return ""  # "is this an automatic chat, or am I writing with a person?"
        sentences = [ws for part in _SENTENCE_END.split(text)
                     if (ws := _joined(_fold(part).split()))]
        if len(words) <= SHORT_SENTENCES_MESSAGE:
            parts = [p for p in _STRONG_END.split(text) if p.strip()]
            last = _joined(_fold(parts[-1]).split()) if parts else words
            for sentence in (words, last):
                if self._short_request(sentence):
                    return f"short request: {' '.join(sentence)}"
        for sentence in sentences:
            if any(w in JOBS for w in sentence):
                continue  # "I'd like to work in your support team"
            cue = self._sentence_cue(sentence)
            if cue:
                return cue
        return ""

    def _may_ask(self, tokens: list[str]) -> bool:
        """Whether any request form below could fire: each one needs a target or one of
        the TRIGGERS words ("someone" among them). Most messages have none, and are answered here
        without reading their sentences. Sentences are folded from the same text, so
        their words are these tokens, or two of them joined (`_BIGRAMS`)."""
        if any(w in TRIGGERS or self._is_target(w) for w in tokens):
            return True
        return any((a, b) in _BIGRAMS and self._is_target(_BIGRAMS[(a, b)])
                   for a, b in itertools.pairwise(tokens))

    def _short_request(self, words: list[str]) -> bool:
        """"human please", "оператор!!!": nothing but a person (and filler words)."""
        targets = [i for i, w in enumerate(words)
                   if self._is_target(w) and not self._described(words, i)]
        return bool(targets) and len(words) <= SHORT_MESSAGE and all(
            self._is_target(w) or w in FILLERS or w in REAL for w in words) and not all(
            words[i] in SOMEONE for i in targets)

    def _sentence_cue(self, words: list[str]) -> str:
        targets = [i for i, w in enumerate(words)
                   if self._is_target(w) and not self._described(words, i)]
        for i, word in enumerate(words):
            if word in BOTS and self._refused(words, i):
                return f"refuses the bot: {' '.join(words[max(0, i - 3):i + 1])}"
        about_the_bot = any(w in BOTS and any(y in YOU for y in words[max(0, i - 3):i])
                            for i, w in enumerate(words)) or (
            any(w in EITHER_OR for w in words) and any(w in BOTS or w in AUTOMATIC for w in words))
        if about_the_bot and not any(w in NEGATIONS or w in STOP_VERBS for w in words):
            return ""  # "are you a bot or a real person?"
        for i in targets:
            if about_the_bot:
                break  # "are you a bot or a real person?"
            if any(w in REAL for w in words[max(0, i - 2):i + 2]) and not self._negated(words, i):
                return f"a real person: {' '.join(words[max(0, i - 2):i + 2])}"
        for i, word in enumerate(words):
            exists = word in EXIST or (word in EXIST_WITH and words[i + 1:i + 2] != []
                                       and words[i + 1] in THERE)
            if exists and i < EXIST_POSITION and not about_the_bot:
                for k in range(i + 1, min(len(words), i + 6)):
                    if (words[k] in SOMEONE or self._is_target(words[k])) and (
                            k + 1 == len(words) or words[k + 1] in HERE):
                        return f"is someone there: {' '.join(words[i:k + 2])}"
        # most sentences have no negation and no past marker: skip those checks then
        negatable = any(w in NEGATIONS or w in NEGATION_AFTER or w == "en" for w in words)
        past = any(w in PAST_MARKERS for w in words)
        for i in range(len(words)):
            if (negatable and self._negated(words, i)) or (past and self._past(words, i)):
                continue
            cue = self._verb_cue(words, i, targets)
            if cue:
                return cue
        return ""

    def _verb_cue(self, words: list[str], i: int, targets: list[int]) -> str:
        word = words[i]
        if word in CALLBACK_NOUNS:
            return f"call me: {word}"
        if word in CALLED and (any(w in PASSIVE for w in words[max(0, i - 2):i]) or (
                any(w in ME for w in words[i + 1:i + 3])
                and any(w in MODAL_BEFORE_CALL for w in words[max(0, i - 5):i]))):
            return f"call me: {' '.join(words[max(0, i - 2):i + 1])}"
        if word in CONTACTED and any(w in PASSIVE for w in words[max(0, i - 2):i]):
            return f"contact me: {' '.join(words[max(0, i - 2):i + 1])}"
        if word in CONTACT_ME and any(w in ME for w in words[max(0, i - 2):i + 5]) and not any(
                w in HOW for w in words[max(0, i - 6):i]):
            return f"contact me: {' '.join(words[i:i + 4])}"
        if word in WISHED_CALLS and any(w in SO_THAT for w in words[max(0, i - 4):i]):
            return f"call me: {' '.join(words[max(0, i - 3):i + 1])}"
        if word in WHO and i <= 1 and any(w in TALK for w in words[i + 1:i + 5]):
            return f"who can I talk to: {' '.join(words[i:i + 5])}"
        if word in ESCALATE:
            return f"escalate: {word}"
        if word in MOVE_VERBS and words[i + 1:i + 2] != [] and words[i + 1] in ME and (
                i + 2 == len(words) or words[i + 2] in MOVED_ON):
            return f"move me: {' '.join(words[i:i + 3])}"
        if word in SO_THAT and any(k in targets or words[k] in SOMEONE
                                   for k in range(i + 1, min(len(words), i + 3))):
            return f"someone should: {' '.join(words[i:i + 3])}"
        if word in HELP_VERBS and any(
                k in targets or words[k] in SOMEONE for k in range(max(0, i - 3), i)):
            return f"someone to help: {' '.join(words[max(0, i - 3):i + 1])}"
        if word in CALL_VERBS:
            if any(w in ME for w in words[max(0, i - 3):i + 4]) or any(
                    w in SOMEONE for w in words[max(0, i - 2):i]):
                return f"call me: {' '.join(words[max(0, i - 2):i + 3])}"
            return ""  # "can I call you?" asks for the number
        if word in VERBS and self._requests(words, i):
            near = [t for t in targets if abs(t - i) <= WINDOW
                    and (t > i or word not in FORWARD_ONLY or t == i - 1)]
            if word in GIVE and not (words[i + 1:i + 2] and words[i + 1] in ME):
                near = [t for t in near if t == i + 1]
            if near:
                return f"request: {word} + {words[near[0]]}"
        return ""

    @staticmethod
    def _requests(words: list[str], i: int) -> bool:
        """Whether the verb at i is used as a request here (not "how do I contact...")."""
        word = words[i]
        if word in NEEDS_FIRST_PERSON and not any(
                w in FIRST_PERSON for w in words[max(0, i - 4):i + 4]):
            return False
        return not (word in CONTACT_VERBS and any(w in HOW for w in words[max(0, i - 6):i]))

    @staticmethod
    def _past(words: list[str], i: int) -> bool:
        return any(w in PAST_MARKERS for w in words[max(0, i - 2):i])

    @staticmethod
    def _described(words: list[str], i: int) -> bool:
        before = words[max(0, i - 2):i]
        if any(w in DESCRIBED_BEFORE for w in before):
            return True
        # "someone who can help" is described, "talk to someone who knows" is asked for
        return words[i + 1:i + 2] != [] and words[i + 1] in DESCRIBED_AFTER and not any(
            w in VERBS for w in words[max(0, i - 5):i])

    @staticmethod
    def _negated(words: list[str], i: int) -> bool:
        start = max(0, i - NEGATION_WINDOW)
        window = [w for k, w in enumerate(words[start:i], start)
                  if not (k and words[k - 1] in POLITE_BEFORE_NEGATION)
                  and not _inverted_question(words, k)]
        after = [w for w in words[i + 1:i + 3] if w in NEGATION_AFTER]
        if not any(w in NEGATIONS for w in window) and not after and not _finnish_en(
                words, start, i):
            return False
        # "I don't want to chat with a bot": the negation is about the bot
        return not any(w in BOTS for w in words[i:i + 5])

    @staticmethod
    def _refused(words: list[str], i: int) -> bool:
        start = max(0, i - 7)
        window = words[start:i + 3]
        return any(w in NEGATIONS or w in STOP_VERBS for w in window) or _finnish_en(
            words, start, i)
