"""Regexes run on RE2: linear time, Unicode-aware word boundaries."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from rules.regexes import compile_regex, unicode_boundaries
from tests.rules.helpers import build, ctx


def test_catastrophic_pattern_runs_in_linear_time(tmp_path: Path):
    rs = build(tmp_path, "languages: [en]\nrules:\n"
                         "  - {name: evil, when: {text: {regex: '(a+)+$'}}, then: [{tag: x}]}\n")
    small, large = "a" * 2_000 + "!", "a" * 200_000 + "!"
    started = time.perf_counter()
    rs.decide(ctx(small))
    small_cost = time.perf_counter() - started
    started = time.perf_counter()
    decision = rs.decide(ctx(large))
    large_cost = time.perf_counter() - started
    assert not decision.actions
    # Python's `re` would need ~2**2000 steps here; RE2 is linear: 100x the text costs
    # well under 1,000x the time (generous for a shared CI machine), and is fast anyway
    assert large_cost < 1.0
    assert large_cost < max(small_cost, 1e-4) * 1000


@pytest.mark.parametrize(("pattern", "text", "hit"), [
    (r"\bfaktura\b", "Min faktura!", True),
    (r"\bfaktura\b", "fakturan", False),
    (r"\bår\b", "ett år sedan", True),
    (r"\bår\b", "våren", False),
    (r"\bрахунок\b", "мій рахунок", True),
    (r"\bрахунок\b", "перерахунок", False),
    (r"(\bja\b|\bnej\b)", "nej tack", True),
    (r"\d{4}-\d{2}", "order 2026-12", True),
    (r"(?i)STOP", "please stop", True),
    (r"[\w.]+@example\.com", "från åsa.öberg@example.com", True),
    (r"^\w+$", "Їжак", True),
])
def test_unicode_aware_patterns(pattern: str, text: str, hit: bool):
    assert (compile_regex(pattern).search(text) is not None) is hit
    # what rules run: the pattern and the text as UTF-8 bytes, same answer
    assert (compile_regex(pattern, utf8=True).search(text.encode()) is not None) is hit


def test_a_text_with_a_lone_surrogate_is_searched(tmp_path: Path):
    """JSON may carry a lone surrogate (`"\\ud800"`): the regex still runs on the rest."""
    rs = build(tmp_path, "languages: [en]\nrules:\n"
                         "  - {name: r, when: {text: {regex: 'refund'}}, then: [{tag: x}]}\n")
    assert [a.value for a in rs.decide(ctx("refund \ud800 please")).actions] == ["x"]


def test_escaped_backslash_b_is_left_alone():
    assert unicode_boundaries(r"a\\b") == r"a\\b"


@pytest.mark.parametrize("pattern", [r"foo\bbar", r"\Bx", "(a", "(?=x)", r"(a)\1"])
def test_rejected_patterns(pattern: str):
    with pytest.raises(ValueError):
        compile_regex(pattern)
