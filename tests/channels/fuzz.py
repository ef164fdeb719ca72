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
import shutil
import textwrap
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from router.config import Config, load_config
from tests.conftest import ROOT, write_config

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


#: what a customer may type: any text UTF-8 can carry (lone surrogates cannot), and a few
#: known troublemakers (NUL, bidi controls, combining marks, emoji sequences, long lines)
TEXTS = st.one_of(
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=300),
    st.sampled_from(["\x00", "a\x00b", "\u202eevil\u202c", "e\u0301\u0301\u0301" * 50,
                     "\U0001f468\u200d\U0001f469\u200d\U0001f467" * 20, "\r\n.\r\n", "\ufeff",
                     "x" * 4000, " \t\n ", "<script>alert(1)</script>", "{{ 7*7 }}",
                     "=?utf-8?b?w6U=?=", "\u0000\u0001\u001f\u007f\u0085\u2028\u2029"]),
)


def examples(strategy: st.SearchStrategy[Any], n: int = EXAMPLES) -> list[Any]:
    """`n` values drawn from `strategy`, the same ones on every run."""
    drawn: list[Any] = []

    @settings(max_examples=n, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def draw(value: Any) -> None:
        drawn.append(value)

    draw()
    return drawn


def collect(originals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return examples(mutated(originals))


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


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        both = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = merge(out[key], value) if both else value
    return out


def shipped_config(directory: Path, extra: str = "") -> Config:
    """The shipped config.yaml and config.d/ (rules, canned replies, FAQ, bots) on the
    test base (SQLite in `directory`, a free port), deep-merged with `extra`: fuzzed
    input then meets the rules and bots a fresh install runs, not a stand-in."""
    shutil.copytree(ROOT / "config.d", directory / "config.d")
    shipped = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    for key in ("http", "storage", "logging", "outbox"):
        shipped.pop(key, None)
    shipped["service"].pop("data_dir", None)
    merged = merge(shipped, yaml.safe_load(textwrap.dedent(extra)) or {})
    return load_config(write_config(directory, yaml.safe_dump(merged, allow_unicode=True)))
