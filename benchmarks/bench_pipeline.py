"""Messages through the whole pipeline in process: dedupe, conversation, rules, outbox.

Many producers (one task each, like concurrent webhook requests) push messages for many
conversations into one `Pipeline` over a real `SqliteStore` in a temporary directory,
with real commits (WAL, `synchronous=NORMAL`, group commit), and the garbage collector
set up as `serve` sets it up (start-up objects frozen, full collections at quiet
moments). Latency is the time one `ingest` call takes, i.e. what a webhook would wait
before acknowledging.

The decision is the compiled rule set of the shipped config when the rules package can
compile one (`"decide": "rules"`: its rules and bots answer a little under half of the messages,
queue the rest for agents, and log every decision), else a canned reply to every message
(`"echo"`).
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks._common import ROOT, TEXTS, percentile, rnd, rules_available
from router.domain.model import Action, Decision, DecisionContext, InboundMessage, ReplyContent, Sender
from router.engine.collector import after_startup
from router.engine.pipeline import Decide, Pipeline
from router.store.sqlite import SqliteStore


def echo_decide(ctx: DecisionContext) -> Decision:
    """A canned reply to every customer message, so each message writes an outbox row."""
    if ctx.event != "message":
        return Decision()
    return Decision(actions=[Action("reply", ReplyContent(text="Thanks, we are on it."),
                                    source="bench")])


def load_decide() -> tuple[str, Decide]:
    """The shipped config's compiled rules when the rules package provides them."""
    if not rules_available():
        return "echo", echo_decide
    from router.config import load_config
    from router.wiring import build_decide

    return "rules", build_decide(load_config(ROOT / "config.yaml"))


def thread_of(i: int, active: int, per_conversation: int = 5) -> int:
    """Message `i`'s conversation: `active` conversations at a time, each `per_conversation`
    messages long, interleaved. The share of messages opening a conversation (which run
    the FAQ bot) stays 1 in `per_conversation` whatever the throughput, so fast and slow
    builds are measured on the same mix."""
    return (i // (active * per_conversation)) * active + i % active


def message(i: int, conversations: int, now: datetime) -> InboundMessage:
    thread = thread_of(i, conversations)
    return InboundMessage(
        channel="loopback", external_id=f"m{i}", thread_key=f"chat-{thread}",
        sender=Sender(external_id=f"user-{thread}", display_name=f"Customer {thread}",
                      language_hint="en"),
        text=TEXTS[i % len(TEXTS)], received_at=now)


async def measure(directory: Path, *, producers: int, conversations: int, duration: float,
                  warmup: float, decide: Decide) -> dict[str, Any]:
    store = SqliteStore(directory / "router.db")
    await store.open()
    pipeline = Pipeline(store, lambda: decide)
    collections = after_startup()  # the garbage collector as `serve` sets it up
    counter = itertools.count()
    latencies: list[float] = []
    finished: list[float] = []  # when each measured message's ingest returned
    measuring = False
    deadline = 0.0

    async def producer() -> None:
        now = datetime.now(UTC)
        while time.perf_counter() < deadline:
            msg = message(next(counter), conversations, now)
            started = time.perf_counter()
            result = await pipeline.ingest(msg)
            if measuring:
                ended = time.perf_counter()
                latencies.append(ended - started)
                finished.append(ended)
            assert not result.duplicate

    try:
        deadline = time.perf_counter() + warmup
        await asyncio.gather(*(producer() for _ in range(producers)))
        commits, units = store.commits, store.units
        measuring = True
        started = time.perf_counter()
        deadline = started + duration
        await asyncio.gather(*(producer() for _ in range(producers)))
        elapsed = time.perf_counter() - started
        commits, units = store.commits - commits, store.units - units
    finally:
        await collections.stop()
        gc.unfreeze()
        await store.close()
    latencies.sort()
    return {
        "msgs_per_s": rnd(len(latencies) / elapsed),
        "p50_ms": rnd(percentile(latencies, 50) * 1000, 2),
        "p99_ms": rnd(percentile(latencies, 99) * 1000, 2),
        "messages": len(latencies),
        "units_per_commit": rnd(units / max(1, commits)),
        **per_second(finished, started, elapsed),
    }


def per_second(finished: list[float], start: float, elapsed: float) -> dict[str, float]:
    """The slowest, median and fastest whole second of the run: the same code on a shared
    host moves by a third from one second to the next, and this shows how much this run's
    host did (the headline figure is the mean over the whole run)."""
    seconds = int(elapsed)
    if seconds < 2:
        return {}
    counts = [0] * seconds
    for t in finished:
        i = int(t - start)
        if i < seconds:
            counts[i] += 1
    counts.sort()
    return {"second_min": counts[0], "second_median": counts[seconds // 2],
            "second_max": counts[-1]}


def run(quick: bool) -> list[dict[str, Any]]:
    kind, decide = load_decide()
    producers, conversations = (16, 50) if quick else (128, 200)
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        figures = asyncio.run(measure(
            Path(tmp), producers=producers, conversations=conversations,
            duration=0.5 if quick else 10.0, warmup=0.2 if quick else 2.0, decide=decide))
    return [{"bench": "pipeline", "backend": "sqlite", **figures, "decide": kind,
             "producers": producers, "conversations": conversations}]
