"""What the bot understands, on held-out messages (tests/eval, the test part only).

Three rows report the test part of benchmarks/understanding.py through the shipped
configuration (rules, then bots, as `inquiry-router try` runs them): FAQ answers
(precision of automatic answers, deflection = right automatic answers / answerable,
right entry answered or suggested), hand-off intent (precision, recall) and the language
of 3-6 word messages without a platform hint; each with its figures per language. A
fourth row measures the matcher with a 1,000-entry knowledge base: the memory its index
holds and its speed.
"""

from __future__ import annotations

import random
import time
import tracemalloc
from typing import Any

from benchmarks import understanding as u
from bots.faq import FaqIndex
from bots.schema import FaqSettings

_WORD_TEXT = """
konto faktura paket leverans retur order betalning kort adress lösenord frakt abonnemang
kvitto pris telefon radera profil inloggning present storlek lager lasku tilaus paketti
toimitus salasana osoite hinta kortti poisto jäsenyys pakke passord levering ordre
kvittering abonnement sletting pris rabatt рахунок посилка доставка пароль адреса оплата
картка підписка замовлення invoice parcel delivery refund password address payment card
order account
"""
WORDS = _WORD_TEXT.split()
LANGS = ("sv", "fi", "nb", "uk", "en")


def _vocabulary(rng: random.Random, size: int) -> list[str]:
    syllables = ["ka", "lo", "ver", "sti", "mu", "pen", "tra", "ol", "si", "den", "ru", "mak"]
    return list(dict.fromkeys("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))
                              for _ in range(size)))


def big_knowledge_base(entries: int, seed: int = 11) -> FaqSettings:
    """Entries with a few shared domain words and words of their own (Zipf-like use)."""
    rng = random.Random(seed)
    own = _vocabulary(rng, entries * 4)
    made = []
    for i in range(entries):
        topic = [*rng.sample(WORDS, 2), *rng.sample(own, 4)]
        questions = {lang: [" ".join(rng.sample(topic, 3)) + "?" for _ in range(3)]
                     for lang in LANGS}
        answers = {lang: " ".join(rng.choice(topic + own[:200]) for _ in range(20)) + "."
                   for lang in LANGS}
        made.append({"id": f"e{i}", "questions": questions, "answers": answers,
                     "title": {lang: " ".join(topic[:2]) for lang in LANGS}})
    return FaqSettings.model_validate({"entries": made})


def matcher_row(entries: int, seconds: float) -> dict[str, Any]:
    settings = big_knowledge_base(entries)
    tracemalloc.start()
    index = FaqIndex(settings, "en")
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    rng = random.Random(5)
    vocabulary = [w for v in index._variants[:2000] for w in v.text.rstrip("?.").split()]
    texts = [" ".join([*rng.sample(vocabulary, 3), rng.choice(WORDS)]) for _ in range(500)]
    for text in texts:
        index.match(text, language="sv")
    done, start = 0, time.process_time()
    while time.process_time() - start < seconds:
        for text in texts[:100]:
            index.match(text, language="sv")
        done += 100
    return {"bench": "faq_matcher_memory", "entries": entries, "variants": index.variant_count,
            "index_mb": round(held / 2**20, 1),
            "msgs_per_s": round(done / (time.process_time() - start))}


def run(quick: bool = False) -> list[dict[str, Any]]:
    decide = u.load_decide()
    faq, handoff, language = u.faq_cases("test"), u.handoff_cases("test"), u.language_cases("test")
    if quick:
        faq, handoff, language = faq[::10], handoff[::10], language[::10]
    rows = []
    for part, evaluate, cases in (("faq", u.evaluate_faq, faq),
                                  ("handoff", u.evaluate_handoff, handoff),
                                  ("language", u.evaluate_language, language)):
        started = time.process_time()
        by = evaluate(decide, cases)["by_language"]  # type: ignore[operator]
        spent = time.process_time() - started
        rows.append({"bench": f"understanding_{part}", "split": "test", **by["all"],
                     "by_language": {k: v for k, v in by.items() if k != "all"},
                     # whole dry runs through rules and bots (try's path, not the pipeline's)
                     "msgs_per_s": round(len(cases) / spent) if spent else 0})
    rows.append(matcher_row(100 if quick else 1000, 0.05 if quick else 1.0))
    return rows
