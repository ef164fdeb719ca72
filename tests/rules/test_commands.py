"""`inquiry-router try` and `schema` against the shipped config; the benchmark's shape."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from router.cli import main
from router.configuration.durations import format_duration, parse_duration
from router.domain.hours import Schedule

ROOT = Path(__file__).resolve().parents[2]
CONFIG = str(ROOT / "config.yaml")


def test_try_text_output(capsys: pytest.CaptureFixture[str]):
    assert main(["try", "--config", CONFIG, "--text", "Min faktura är fel",
                 "--channel", "telegram", "--at", "2026-03-03T10:00"]) == 0
    out = capsys.readouterr().out
    assert "language: sv" in out
    assert "✓ invoices to billing: when.any[0].text.keywords: found 'faktura'" in out
    assert "✗ outage:" in out
    assert "prefer_queue: billing" in out


def test_try_json_after_hours(capsys: pytest.CaptureFixture[str]):
    assert main(["try", "--config", CONFIG, "--text", "Hei, lasku on väärin", "--json",
                 "--at", "2026-12-24T20:00", "--event", "conversation_opened"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["open"] is False
    reply = next(a for a in result["actions"] if a["source"] == "after hours")
    assert reply["value"]["reply_id"] == "away"
    assert "maanantaina 28.12. klo 8.00" in reply["value"]["text"]  # after the holidays


def test_try_batch_prints_json_lines(tmp_path: Path):
    batch = tmp_path / "messages.txt"
    batch.write_text("Де моя посилка?\nI want to talk to a human\n", encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "router", "try", "--config", CONFIG,
                          "--batch", str(batch)], capture_output=True, text=True, cwd=ROOT,
                         timeout=60, check=True)
    rows = [json.loads(line) for line in run.stdout.splitlines()]
    assert [r["language"] for r in rows] == ["uk", "en"]
    assert any(a["kind"] == "handoff" for a in rows[1]["actions"])


def test_schema_command_writes_json_schema(tmp_path: Path):
    out = tmp_path / "schema.json"
    assert main(["schema", "--output", str(out)]) == 0
    schema = json.loads(out.read_text("utf-8"))
    for key in ("languages", "replies", "rules", "business_hours", "include"):
        assert key in schema["properties"]
    condition = schema["$defs"]["condition"]["anyOf"][0]["properties"]
    assert {"all", "any", "not", "text", "channel", "business_hours"} <= set(condition)
    action = schema["$defs"]["action"]["anyOf"][0]["properties"]
    assert {"reply", "route", "webhook", "stop"} <= set(action)


def test_benchmark_quick_shape():
    from benchmarks import bench_rules

    rows = bench_rules.run(quick=True)
    assert [r["rules"] for r in rows] == [10, 100]
    assert all(set(r) == {"bench", "rules", "msgs_per_s", "msgs_per_s_rounds"}
               and r["bench"] == "rules" and r["msgs_per_s"] > 0
               and r["msgs_per_s"] in r["msgs_per_s_rounds"] for r in rows)


def test_benchmark_reports_the_median_of_rounds_the_sizes_take_in_turns(
        monkeypatch: pytest.MonkeyPatch):
    from benchmarks import bench_rules

    order: list[int] = []
    speeds = iter([10.0, 50.0, 30.0, 20.0, 40.0, 60.0])  # rounds of 10, 100, 10, 100, ...

    def measure(ruleset: object, ctxs: object, seconds: float) -> float:
        order.append(len(ruleset.rules))  # type: ignore[attr-defined]
        return next(speeds)

    monkeypatch.setattr(bench_rules, "measure", measure)
    monkeypatch.setattr(bench_rules, "ROUNDS", 3)
    monkeypatch.setattr(bench_rules, "SIZES", (10, 100))
    rows = bench_rules.run(quick=False)
    assert order == [10, 100, 10, 100, 10, 100]
    assert [(r["msgs_per_s"], r["msgs_per_s_rounds"]) for r in rows] == [
        (30, [10, 30, 40]), (50, [50, 20, 60])]


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("30m", 1800), ("1h30m", 5400),
                                               ("1d", 86400), ("2w", 1209600), (45, 45)])
def test_durations(text: str | int, seconds: int):
    assert parse_duration(text) == timedelta(seconds=seconds)
    assert parse_duration(format_duration(timedelta(seconds=seconds))).total_seconds() == seconds


@pytest.mark.parametrize("bad", ["30 minutes", "1,5h", "", "0s", True, -5])
def test_bad_durations(bad: object):
    with pytest.raises(ValueError):
        parse_duration(bad, positive=True)


def test_business_hours_and_next_opening():
    schedule = Schedule.build("Europe/Stockholm", {"mon-fri": "08:00-12:00, 13:00-17:00",
                                                   "sat": "10:00-14:00", "sun": "closed"},
                              [datetime(2026, 12, 24).date()])
    tuesday_lunch = datetime(2026, 3, 3, 11, 30, tzinfo=UTC)  # 12:30 local
    assert not schedule.is_open(tuesday_lunch)
    assert schedule.next_opening(tuesday_lunch).isoformat() == "2026-03-03T13:00:00+01:00"
    assert schedule.is_open(datetime(2026, 3, 3, 12, 0, tzinfo=UTC))
    christmas_eve = datetime(2026, 12, 24, 9, 0, tzinfo=UTC)  # Thursday, a holiday
    assert not schedule.is_open(christmas_eve)
    assert schedule.next_opening(christmas_eve).isoformat() == "2026-12-25T08:00:00+01:00"
    summer = datetime(2026, 7, 4, 7, 30, tzinfo=UTC)  # Saturday 09:30 CEST
    assert schedule.next_opening(summer).isoformat() == "2026-07-04T10:00:00+02:00"
    assert Schedule.open_always().is_open(summer)
