"""Mutations of real webhook payloads, for the fuzz tests of each channel (issue 22).

Hypothesis draws the mutations (one to three per payload: a leaf or subtree replaced by a
hostile value, or a key dropped) from the stored real payloads, derandomized so a run is
repeatable; each batch is posted to one real service. Must hold: no answer >= 500, and
nothing acknowledged then fails (the backlog marks nothing failed)."""

from __future__ import annotations

import copy
import json
import logging
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EXAMPLES = 200

HOSTILE = st.one_of(
    st.sampled_from([2**64 + 1, -(2**63) - 1, 2**63, 2**63 - 1, -1, 0, 10**30, True, None, "",
                     "\ud800", "a\udfffb", "x" * 5000, [], {}, 1.5, -0.0, math.inf, math.nan,
                     "[" * 50, {"a": [[[[]]]]}]),
    st.integers(), st.text(max_size=20), st.floats(), st.booleans(),
    st.recursive(st.integers() | st.text(max_size=5), lambda inner: st.lists(inner, max_size=3),
                 max_leaves=10),
)


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths(child, (*prefix, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            found += paths(child, (*prefix, i))
    return found


@st.composite
def mutated(draw: st.DrawFn, originals: list[dict[str, Any]]) -> dict[str, Any]:
    doc = copy.deepcopy(draw(st.sampled_from(originals)))
    for _ in range(draw(st.integers(1, 3))):
        where = paths(doc)
        if not where:
            break
        path = draw(st.sampled_from(where))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if isinstance(parent, dict) and draw(st.booleans()) and draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(HOSTILE)
    return doc


def collect(originals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    drawn: list[dict[str, Any]] = []

    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(mutated(originals))
    def draw(doc: dict[str, Any]) -> None:
        drawn.append(doc)

    draw()
    return drawn


def load(directory: Any, *names: str) -> list[dict[str, Any]]:
    files = [directory / f"{n}.json" for n in names] if names else sorted(directory.glob("*.json"))
    return [json.loads(f.read_text(encoding="utf-8")) for f in files]


async def assert_nothing_failed(service: Any) -> None:
    await service.backlog.drained()
    failures = await service.store.read(lambda tx: tx.inbox_failures(10))
    assert service.backlog.failed == 0 and failures == [], failures


def errors_logged(records: list[logging.LogRecord]) -> list[str]:
    return [r.getMessage() for r in records if r.levelno >= logging.ERROR
            and r.name.startswith(("router", "channels"))]
