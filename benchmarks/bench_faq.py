"""FAQ matcher alone: `FaqIndex.match` on the shipped knowledge base (msgs/s, one core).

The messages are the knowledge base's own questions with one typo each, plus the
customer texts the pipeline benchmarks send, so both answerable and off-topic messages
are in the mix. `msgs_per_s` is the steady state (similarity rows of the customers'
words cached, as after a few minutes of traffic); `cold_msgs_per_s` clears that cache
before every message, i.e. a message made of words never seen before.
"""

from __future__ import annotations

import random
import time
from typing import Any

from benchmarks._common import ROOT, TEXTS
from bots import compile_bots
from bots.faq import FaqIndex
from router.configuration import yamlsrc


def load_index() -> FaqIndex:
    source = yamlsrc.load(ROOT / "config.d" / "faq.yaml", {})
    return compile_bots(source).faq


def messages(index: FaqIndex, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    out = list(TEXTS)
    for entry in index.settings.entries:
        for questions in entry.questions.values():
            for q in questions:
                chars = list(q)
                chars[rng.randrange(len(chars))] = rng.choice("aeiouyäöи")
                out.append("".join(chars))
    return out


def measure(index: FaqIndex, texts: list[str], seconds: float, *, cold: bool) -> float:
    for text in texts:  # warm the row cache (and the interpreter)
        index.match(text)
    done, start = 0, time.process_time()  # CPU time: robust on a shared machine
    while True:
        for text in texts:
            if cold:
                index.clear_cache()
            index.match(text)
        done += len(texts)
        elapsed = time.process_time() - start
        if elapsed >= seconds:
            return done / elapsed


def run(quick: bool = False) -> list[dict[str, Any]]:
    index = load_index()
    texts = messages(index)
    seconds = 0.05 if quick else 1.5
    return [{"bench": "faq", "entries": len(index.entries), "msgs_per_s":
             round(measure(index, texts, seconds, cold=False)),
             "cold_msgs_per_s": round(measure(index, texts, seconds, cold=True)),
             "variants": index.variant_count}]
