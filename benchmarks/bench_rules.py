"""Rules engine throughput at 10 / 100 / 1,000 / 10,000 generated rules (msgs/s, one core).

Rules are generated like an admin's: mostly keyword rules (per-language lists, prefixes,
multi-word phrases), some combined with a channel or a regex, plus a fixed handful of
rules without keywords (business hours, first message, VIP contact, attachment,
language). Messages are real sentences from tests/rules/data, half of them carrying a
keyword of some rule so that rules do fire. `decide()` is timed exactly as the pipeline
calls it, language detection included.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from router.configuration.yamlsrc import Source
from router.domain.model import (
    ContactView,
    ConversationView,
    DecisionContext,
    InboundMessage,
    Sender,
    Status,
)
from rules import compile_rules

SIZES = (10, 100, 1000, 10000)
ROUNDS = 5
LANGS = ("sv", "fi", "nb", "uk", "en")
DATA = Path(__file__).resolve().parent.parent / "tests" / "rules" / "data"
QUEUES = ("billing", "support", "sales", "general")


def _word(rng: random.Random, i: int) -> str:
    # pronounceable, unique, and never present in the sentences unless injected
    syllables = ("ka", "lo", "mi", "ve", "tu", "rä", "sö", "ny", "jo", "pe", "ли", "ко")
    return "".join(rng.choice(syllables) for _ in range(3)) + f"q{i}"


def generate(n: int, seed: int = 7) -> tuple[dict[str, Any], list[str]]:
    """Config data with `n` rules, and the keywords that can be injected into messages."""
    rng = random.Random(seed)
    rules: list[dict[str, Any]] = [
        {"name": "after hours", "when": {"business_hours": "closed"}, "then": [{"tag": "ah"}]},
        {"name": "first", "when": {"first_message": True}, "then": [{"tag": "first"}]},
        {"name": "vip", "when": {"contact": {"tag": "vip"}}, "then": [{"priority": "high"}]},
        {"name": "files", "when": {"attachment": True}, "then": [{"tag": "file"}]},
        {"name": "ukrainian", "when": {"language": "uk"}, "then": [{"tag": "uk"}]},
    ]
    injectable: list[str] = []
    for i in range(max(0, n - len(rules))):
        words = [_word(rng, i * 3 + k) for k in range(3)]
        injectable.append(words[0])
        kind = i % 10
        if kind < 5:
            text: dict[str, Any] = {"keywords": [words[0], words[1] + "*", f"{words[2]} x"]}
        elif kind < 7:
            text = {"keywords": {rng.choice(LANGS): [words[0]], "en": words[1:]}}
        else:
            text = {"keywords": [words[0], words[1]], "match": "any"}
        when: Any = {"text": text}
        if kind == 8:
            when = {"all": [{"text": text}, {"channel": ["telegram", "email"]}]}
        elif kind == 9:
            when = {"all": [{"text": text}, {"text": {"regex": rf"\b{words[0]}\b"}}]}
        then = [{"route": QUEUES[i % 4]}, {"tag": f"t{i % 50}"}]
        if i % 5 == 0:
            then.append({"reply": "ack"})
        rules.append({"name": f"rule {i}", "when": when, "then": then})
    data = {
        "languages": list(LANGS), "default_language": "en",
        "business_hours": {"timezone": "Europe/Stockholm", "weekly": {"mon-fri": "08:00-17:00"}},
        "replies": {"ack": {"sv": "Tack {{ contact.first_name }}!",
                            "en": "Thanks {{ contact.first_name }}!"}},
        "rules": rules[:n],
    }
    return data, injectable


def messages(injectable: list[str], count: int = 400, seed: int = 11) -> list[DecisionContext]:
    rng = random.Random(seed)
    lines = [line for lang in LANGS
             for line in (DATA / f"{lang}.sentences.txt").read_text("utf-8").splitlines() if line]
    now = datetime(2026, 3, 3, 9, 30, tzinfo=UTC)
    out = []
    for i in range(count):
        text = rng.choice(lines)
        if injectable and i % 2 == 0:
            text = f"{text} {rng.choice(injectable)}"
        msg = InboundMessage("telegram", str(i), "chat", Sender("u", "Anna"), text, now)
        conv = ConversationView(1, "telegram", Status.BOT, message_count=2)
        out.append(DecisionContext(msg, conv, ContactView(1, "Anna Berg"), now))
    return out


def prepare(n: int) -> tuple[Any, list[DecisionContext]]:
    """A compiled rule set of `n` generated rules and its messages, caches warmed."""
    data, injectable = generate(n)
    ruleset = compile_rules(Source(data=data, files=["<bench>"]), queues=QUEUES, agents=())
    ctxs = messages(injectable)
    for ctx in ctxs[:50]:  # warm caches
        ruleset.decide(ctx)
    return ruleset, ctxs


def measure(ruleset: Any, ctxs: list[DecisionContext], seconds: float) -> float:
    done, start = 0, time.process_time()  # CPU time: robust on a shared machine
    while True:
        for ctx in ctxs:
            ruleset.decide(ctx)
        done += len(ctxs)
        elapsed = time.process_time() - start
        if elapsed >= seconds:
            return done / elapsed


def run(quick: bool = False) -> list[dict[str, Any]]:
    """Each size is measured in ROUNDS short rounds, the sizes taking turns, and reports
    the median round: on a shared host the speed moves within seconds, and one long
    measurement per size let a slow spell land on one size only (a run once measured
    1,000 rules slower than 10,000). The rounds are in the row."""
    sizes = (10, 100) if quick else SIZES
    rounds, seconds = (1, 0.05) if quick else (ROUNDS, 0.4)
    prepared = {n: prepare(n) for n in sizes}
    figures: dict[int, list[float]] = {n: [] for n in sizes}
    for _ in range(rounds):
        for n in sizes:
            figures[n].append(measure(*prepared[n], seconds))
    return [{"bench": "rules", "rules": n, "msgs_per_s": round(statistics.median(figures[n])),
             "msgs_per_s_rounds": [round(f) for f in figures[n]]} for n in sizes]
