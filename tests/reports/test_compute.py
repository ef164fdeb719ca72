"""Reports on a generated week match figures worked out by hand (tests/reports/history.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from router.web.reports.load import report_for
from router.web.reports.stats import Stats, nearest_rank
from tests.reports.history import END, EXPECTED_TOTALS, START, H, History, M


async def test_the_report_matches_hand_computed_figures(tmp_path: Path):
    history = History(tmp_path)
    await history.build()
    seen: list[tuple[int, int]] = []
    try:
        report = await report_for(history.config, history.store, START, END,
                                  now=datetime(2026, 3, 10, tzinfo=UTC),
                                  progress=lambda done, total: seen.append((done, total)))
    finally:
        await history.store.close()
    data = report.as_dict()
    assert data["totals"] == EXPECTED_TOTALS
    assert seen and seen[-1] == (5, 5)
    by_channel = {g["key"]: (g["opened"], g["resolved"], g["deflected"], g["handed_off"])
                  for g in data["by"]["channel"]}
    assert by_channel == {"webchat": (2, 2, 2, 0), "email": (2, 2, 0, 2),
                          "telegram": (1, 0, 0, 1)}
    assert [g["key"] for g in data["by"]["channel"]] == ["email", "webchat", "telegram"]
    assert {g["key"]: g["opened"] for g in data["by"]["queue"]} == {
        "billing": 2, "general": 1, "(none)": 2}
    assert {g["key"]: g["opened"] for g in data["by"]["language"]} == {"sv": 1, "en": 4}
    assert {g["key"]: g["opened"] for g in data["by"]["tag"]} == {"invoice": 1, "(none)": 4}
    agents_dim = {g["key"]: (g["opened"], g["frt_business"]["median"]) for g in data["by"]["agent"]}
    assert agents_dim == {"ann": (2, 15 * M), "bob": (1, 90 * M), "(none)": (2, None)}
    assert data["handoff_reasons"] == {"customer_request": 2, "unanswered": 1}
    assert data["sla"] == [
        {"queue": "billing", "kind": "first_response", "eligible": 2, "met": 2, "breached": 0,
         "compliance": 100.0},
        {"queue": "general", "kind": "first_response", "eligible": 1, "met": 0, "breached": 1,
         "compliance": 0.0}]
    assert data["csat"] == {"responses": 2, "surveyed": 4, "response_rate": 50.0,
                            "average": 3.5, "comments": 1,
                            "distribution": {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1}}
    ann, bob = data["agents"]
    assert ann == {"agent": "ann", "assigned": 2, "replies": 2, "first_responses": 2,
                   "resolved": 1, "frt": {"count": 2, "median": 25 * M, "p90": 30 * M},
                   "frt_business": {"count": 2, "median": 15 * M, "p90": 30 * M},
                   "csat_average": 5.0}
    assert bob == {"agent": "bob", "assigned": 1, "replies": 1, "first_responses": 1,
                   "resolved": 1, "frt": {"count": 1, "median": 64.5 * H, "p90": 64.5 * H},
                   "frt_business": {"count": 1, "median": 90 * M, "p90": 90 * M},
                   "csat_average": 2.0}
    # opened per local (Stockholm, UTC+1) weekday and hour
    cells = {(d, h): n for d, row in enumerate(data["heatmap"]) for h, n in enumerate(row) if n}
    assert cells == {(0, 10): 1, (0, 11): 1, (4, 16): 1, (5, 12): 1, (6, 21): 1}
    assert data["timezone"] == "Europe/Stockholm"


@pytest.mark.parametrize(("values", "median", "p90"), [
    ([], None, None), ([5], 5, 5), ([1, 2], 1.5, 2), ([3, 1, 2], 2, 3),
    (list(range(1, 11)), 5.5, 9), (list(range(1, 12)), 6, 10)])
def test_median_and_nearest_rank_p90(values, median, p90):
    s = Stats.of(values)
    assert (s.median, s.p90) == (median, p90)
    if values:
        assert nearest_rank(sorted(values), 100) == max(values)
