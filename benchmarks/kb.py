"""Knowledge-base import, measured on a real help centre: import time and answers.

`tests/kb/zulip-help/` holds 58 articles of Zulip's help center (Markdown, Apache-2.0);
`tests/kb/questions.yaml` holds questions about them written for this project, each with
the articles that answer it, and near misses that none answers. The corpus is imported
with the real command (`inquiry-router kb import`, timed) into a fresh data dir, and each
question goes through rules and bots as `inquiry-router try` runs them, with a config
that has no FAQ entries of its own (the articles alone answer). Questions fall into a
tuning and a test part by the hash of their text (benchmarks/understanding.py
`split_of`); the thresholds (`faq.articles`) were chosen on the tuning part.
`tests/kb/questions2.yaml` is a second set written later, from a list of topics, and
measured on its test part before the search was tuned on its tuning part.
`tests/kb/questions3.yaml`, a third, was written the same way and measured likewise.
`tests/kb/questions4.yaml`, a fourth, likewise; its test part was never tuned on
(docs/bots.md: the clean held-out figures).

    python -m benchmarks.kb --split test [--questions tests/kb/questions4.yaml] [--show]
    python -m benchmarks.kb --split test --faq   # the shop FAQ's figures, corpus imported

`--faq` checks that an unrelated import leaves the shipped FAQ alone: the held-out shop
messages (benchmarks/understanding.py) through the shipped config.yaml, once as shipped
and once with the Zulip corpus imported into its data dir, side by side.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

from benchmarks.understanding import dry_run, split_of

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "kb" / "zulip-help"
QUESTIONS = ROOT / "tests" / "kb" / "questions.yaml"
BASE_URL = "https://zulip.com/help/"
CONFIG = """\
service: {data_dir: data}
languages: [sv, fi, nb, uk, en]
default_language: en
"""


def questions(split: str | None, path: Path = QUESTIONS) -> list[dict[str, Any]]:
    """The questions of `path` in `split` ('tune', 'test', or None for all)."""
    items = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [q for q in items if split is None or split_of(str(q["text"])) == split]


def import_corpus(directory: Path, extra: str = "") -> tuple[Path, float]:
    """Write a config into `directory`, import the corpus with the CLI; (config, seconds)."""
    from router.cli import main

    config = directory / "config.yaml"
    config.write_text(CONFIG + extra, encoding="utf-8")
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(["kb", "import", str(CORPUS), "--base-url", BASE_URL, "-c", str(config)])
    seconds = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"kb import failed with {code}")
    return config, seconds


def article_of(config: Path) -> dict[str, str]:
    """Section id -> article file name (without .md)."""
    from router.config import load_config
    from router.engine.kb import kb_path
    from router.engine.kb.library import read

    out = {}
    for src in read(kb_path(load_config(str(config))))["sources"].values():
        for a in src["articles"]:
            for s in a["sections"]:
                out[s["id"]] = a["path"].removesuffix(".md")
    return out


def outcome(result: dict[str, Any], sections: dict[str, str]) -> tuple[str, list[str]]:
    """(article answered automatically or '', articles suggested)."""
    answered, suggested = "", []
    for action in result["actions"]:
        value = action["value"]
        if action["kind"] != "reply" or not isinstance(value, dict):
            continue
        reply_id = str(value.get("reply_id", ""))
        if reply_id.startswith("kb:"):
            answered = sections.get(reply_id.removeprefix("kb:"), "?")
        elif reply_id == "faq_suggest":
            suggested = [sections.get(q["payload"].removeprefix("kb:"), "?")
                         for q in value["quick_replies"] if q["payload"].startswith("kb:")]
    return answered, suggested


def evaluate(decide: Any, sections: dict[str, str], items: list[dict[str, Any]]
             ) -> dict[str, Any]:
    row: dict[str, int] = defaultdict(int)
    misses = []
    for q in items:
        expect = list(q.get("expect") or [])
        answered, suggested = outcome(dry_run(decide, str(q["text"])), sections)
        row["questions"] += 1
        row["answerable"] += bool(expect)
        row["near_misses"] += not expect
        row["auto"] += bool(answered)
        row["right_auto"] += bool(answered) and answered in expect
        row["right_offered"] += bool(expect) and (answered in expect
                                                 or any(s in expect for s in suggested))
        row["near_miss_answered"] += not expect and bool(answered)
        row["near_miss_suggested"] += not expect and bool(suggested) and not answered
        if (answered and answered not in expect) or (expect and answered not in expect):
            misses.append({"text": q["text"], "expect": expect, "answered": answered,
                           "suggested": suggested})
    return {**row,
            "precision": _ratio(row["right_auto"], row["auto"]),
            "answered": _ratio(row["right_auto"], row["answerable"]),
            "answered_or_suggested": _ratio(row["right_offered"], row["answerable"]),
            "misses": misses}


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def run(split: str | None, path: Path = QUESTIONS) -> dict[str, Any]:
    from router.config import load_config
    from router.wiring import build_decide

    with tempfile.TemporaryDirectory(prefix="bench-kb-") as tmp:
        config, seconds = import_corpus(Path(tmp))
        started = time.perf_counter()
        decide = build_decide(load_config(str(config)))
        build = time.perf_counter() - started
        result = evaluate(decide, article_of(config), questions(split, path))
    return {"import_seconds": round(seconds, 3), "build_seconds": round(build, 3), **result}


def faq_check(split: str | None) -> dict[str, Any]:
    """The shipped config's FAQ and hand-off figures without and with the corpus imported."""
    from dataclasses import replace

    from benchmarks.understanding import evaluate_faq, evaluate_handoff, faq_cases, handoff_cases
    from router.config import load_config
    from router.wiring import build_decide

    shipped = load_config(str(ROOT / "config.yaml"))
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-kb-faq-") as tmp:
        bench_config, _ = import_corpus(Path(tmp))
        data_dir = str(bench_config.parent / "data")
        service = shipped.settings.service.model_copy(update={"data_dir": data_dir})
        imported = replace(shipped, settings=shipped.settings.model_copy(
            update={"service": service}))
        for name, config in (("shipped", shipped), ("with_corpus", imported)):
            decide = build_decide(config)
            faq = evaluate_faq(decide, faq_cases(split))
            handoff = evaluate_handoff(decide, handoff_cases(split))
            articles = [outcome(dry_run(decide, case.text), {}) for case in faq_cases(split)]
            out[name] = {"faq": faq["by_language"]["all"],
                         "handoff": handoff["by_language"]["all"],
                         "articles_answered": sum(bool(a) for a, _ in articles),
                         "articles_suggested": sum(bool(s) and not a for a, s in articles),
                         "faq_misses": [_without_articles(m) for m in faq["misses"]]}
    return out


def _without_articles(miss: dict[str, Any]) -> dict[str, Any]:
    """A FAQ miss as the FAQ alone decided it: article suggestions left out."""
    return {**miss, "suggested": [s for s in miss["suggested"] if not s.startswith("kb:")]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("tune", "test", "all"), default="tune")
    parser.add_argument("--questions", type=Path, default=QUESTIONS,
                        help="the question file (default tests/kb/questions.yaml)")
    parser.add_argument("--show", action="store_true", help="list the misses")
    parser.add_argument("--faq", action="store_true",
                        help="the shop FAQ's held-out figures without and with the corpus")
    args = parser.parse_args()
    split = None if args.split == "all" else args.split
    if args.faq:
        check = faq_check(split)
        for name, row in check.items():
            print(name, json.dumps({k: v for k, v in row.items() if k != "faq_misses"}))
        same = check["shipped"]["faq_misses"] == check["with_corpus"]["faq_misses"]
        print("FAQ outcomes identical message by message:", same)
        return
    result = run(split, args.questions)
    misses = result.pop("misses")
    print(json.dumps(result))
    if args.show:
        for miss in misses:
            print("   x", json.dumps(miss, ensure_ascii=False))


if __name__ == "__main__":
    main()
