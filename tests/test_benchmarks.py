"""Every benchmark runs with tiny sizes and prints the documented JSON shapes.

This keeps `make bench` from rotting while the code under it changes: the speed is not
checked here (CI machines are too noisy for that), only that each benchmark still runs
end to end and reports the keys and types that docs/benchmarks.md and issue 12 promise.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import time
from typing import Any

import pytest

from tests.conftest import PYTHON, ROOT

# several instances (or stores) on PostgreSQL, 11 connections each: under pytest-xdist
# these modules share one worker, so two of them never hold connections at once
pytestmark = pytest.mark.xdist_group("postgres-instances")

NUMBER = (int, float)
# bench kind -> required keys and their types (more keys are allowed)
SHAPES: dict[str, dict[str, Any]] = {
    "rules": {"rules": int, "msgs_per_s": NUMBER},
    "pipeline": {"backend": str, "msgs_per_s": NUMBER, "p50_ms": NUMBER, "p99_ms": NUMBER,
                 "decide": str},
    "ingest": {"channel": str, "msgs_per_s": NUMBER, "p99_ms": NUMBER,
               "bare_msgs_per_s": NUMBER, "ratio": NUMBER},
    "memory": {"conversations": int, "rss_mb": NUMBER},
    "postgres_scale": {"instances": int, "msgs_per_s": NUMBER, "scaling": NUMBER},
    "faq": {"entries": int, "msgs_per_s": NUMBER, "cold_msgs_per_s": NUMBER},
    "understanding_faq": {"split": str, "precision": NUMBER, "deflection": NUMBER,
                          "answered_or_suggested": NUMBER, "by_language": dict,
                          "msgs_per_s": NUMBER},
    "understanding_handoff": {"split": str, "precision": NUMBER, "recall": NUMBER,
                              "by_language": dict, "msgs_per_s": NUMBER},
    "understanding_language": {"split": str, "accuracy": NUMBER, "by_language": dict,
                               "msgs_per_s": NUMBER},
    "faq_matcher_memory": {"entries": int, "index_mb": NUMBER, "msgs_per_s": NUMBER},
    "e2e": {"channel": str, "conversations": str, "rate": int, "offered": int, "answered": int,
            "p50_ms": NUMBER, "p99_ms": NUMBER, "cpu_ms_per_msg": NUMBER,
            "stages_p99_ms": dict},
    "e2e_capacity": {"channel": str, "conversations": str, "capacity_msgs_per_s": int},
    "e2e_pg_scale": {"channel": str, "conversations": str, "rate": int, "repeats": int,
                     "p50_three_over_one": NUMBER, "p99_three_over_one": NUMBER},
    "search": {"backend": str, "messages": int, "queries": int, "p50_ms": NUMBER,
               "p95_ms": NUMBER, "p99_ms": NUMBER},  # issue 24
}
WITHOUT_RATE = ("memory", "e2e", "e2e_capacity", "e2e_pg_scale", "search")


def test_every_benchmark_runs_quick_and_prints_its_shape() -> None:
    started = time.monotonic()
    proc = subprocess.run([PYTHON, "-m", "benchmarks", "--quick"], cwd=ROOT, capture_output=True,
                          text=True, timeout=150, check=False)
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    kinds = {row["bench"] for row in rows}
    assert {"pipeline", "ingest", "memory"} <= kinds, kinds
    for row in rows:
        shape = SHAPES.get(row["bench"])
        assert shape is not None, f"unknown bench kind {row['bench']!r}: add its shape here"
        for key, kind in shape.items():
            assert isinstance(row.get(key), kind), f"{row['bench']}.{key} = {row.get(key)!r}"
            assert not isinstance(row[key], bool)
        if row["bench"] not in WITHOUT_RATE:
            assert row["msgs_per_s"] > 0, row
    pipeline = next(r for r in rows if r["bench"] == "pipeline")
    assert pipeline["backend"] == "sqlite" and pipeline["decide"] in ("rules", "echo")
    assert all(r["ratio"] > 0 for r in rows if r["bench"] == "ingest")
    assert "loopback" in {r["channel"] for r in rows if r["bench"] == "ingest"}
    assert next(r for r in rows if r["bench"] == "memory")["rss_mb"] > 0
    # end to end: every message offered got its reply
    assert all(r["answered"] == r["offered"] > 0 for r in rows if r["bench"] == "e2e")
    # the table goes to stderr, one line per JSON row
    assert proc.stderr.count("bench=") >= len(rows)
    # and progress: each benchmark's start and how long it took
    modules = {line.split()[1] for line in proc.stderr.splitlines() if line.startswith("[")}
    assert {"ingest", "pipeline", "rules", "memory"} <= modules
    assert proc.stderr.count(" took ") == len(modules)
    # Not a speed test: it catches a benchmark that ignores --quick (a full run takes
    # minutes). The quick run takes about 15-20 s on a 2-core machine, and 53 s was seen
    # on a shared host that was three times slower that day for everything.
    assert elapsed < 120, f"quick benchmarks took {elapsed:.0f}s: one ignores --quick?"


def test_the_pipeline_reports_its_slowest_median_and_fastest_second() -> None:
    from benchmarks.bench_pipeline import per_second

    # seconds 0, 1, 2 of a 3.4 s run: 2, 1 and 3 messages; the partial fourth is left out
    done = [0.1, 0.2, 1.5, 2.5, 2.6, 2.7, 3.2]
    assert per_second(done, 0.0, 3.4) == {"second_min": 1, "second_median": 2, "second_max": 3}
    assert per_second(done, 0.0, 1.5) == {}  # too short to say


def test_three_postgres_instances_are_compared_with_one_at_each_rate() -> None:
    """`make bench` runs PostgreSQL only in full; its ratio rows are checked here."""
    from benchmarks.bench_e2e import capacity, scale_ratios

    def row(instances: int, kind: str, rate: int, p50: float, p99: float,
            repeat: int = 0) -> dict:
        return {"bench": "e2e", "backend": "postgres", "channel": "loopback",
                "instances": instances, "conversations": kind, "rate": rate,
                "offered": rate * 4, "answered": rate * 4, "errors": 0, "p50_ms": p50,
                "p99_ms": p99, "repeat": repeat}

    rows = [row(1, "new", 100, 10, 20), row(3, "new", 100, 12, 15),
            row(1, "new", 400, 50, 800), row(3, "new", 400, 100, 2000),
            row(3, "continuing", 100, 9, 9),  # no one-instance row to compare with
            # three repeats at 200: the median of the three ratios, each of its own pair
            row(1, "new", 200, 10, 100, 0), row(3, "new", 200, 20, 90, 0),
            row(1, "new", 200, 40, 150, 1), row(3, "new", 200, 10, 300, 1),
            row(1, "new", 200, 10, 199, 2), row(3, "new", 200, 11, 100, 2)]
    ratios = scale_ratios(rows)
    assert [(r["conversations"], r["rate"], r["repeats"], r["p50_three_over_one"],
             r["p99_three_over_one"]) for r in ratios] == [
        ("new", 100, 1, 1.2, 0.75), ("new", 200, 3, 1.1, 0.9), ("new", 400, 1, 2.0, 2.5)]
    assert ratios[1]["p99_ratios"] == [0.9, 2.0, 0.5]
    for r in ratios:
        for key, kind in SHAPES["e2e_pg_scale"].items():
            assert isinstance(r[key], kind)
    # capacity rows are made from the e2e rows among all of them; over turns, the median
    # turn's p99 counts (three's 300 ms turn at 200/s is outvoted)
    assert {(r["instances"], r["conversations"], r["capacity_msgs_per_s"])
            for r in capacity(rows + ratios)} == {(1, "new", 200), (3, "new", 200),
                                                  (3, "continuing", 100)}
    # ... but a message left unanswered in any turn is not outvoted
    unanswered = {**row(1, "new", 200, 10, 100, 3), "answered": 799}
    assert {(r["instances"], r["capacity_msgs_per_s"]) for r in capacity([*rows, unanswered])
            if r["conversations"] == "new"} == {(1, 100), (3, 200)}


_PARENT = """
import asyncio, sys
from benchmarks._common import spawn

async def main():
    # waits for a signal, nothing else (no pipe to us whose end would end it too)
    child = await spawn(sys.executable, "-c", "import signal; signal.pause()",
                        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL)
    print(child.pid, flush=True)
    await child.wait()

asyncio.run(main())
"""


def test_a_benchmarks_subprocesses_end_when_it_is_killed() -> None:
    """A benchmark killed mid-run (SIGKILL: no cleanup runs) had left its `serve`
    processes holding their PostgreSQL connections (`_common.spawn`)."""
    parent = subprocess.Popen([PYTHON, "-c", _PARENT], cwd=ROOT, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        pidfd = os.pidfd_open(child)  # readable once the child has exited
        try:
            assert select.select([pidfd], [], [], 0)[0] == []  # it runs while we do
            parent.send_signal(signal.SIGKILL)
            assert select.select([pidfd], [], [], 30)[0] == [pidfd]
        finally:
            os.close(pidfd)
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)  # when the test failed: leave nothing behind
    finally:
        parent.kill()
        parent.wait()
