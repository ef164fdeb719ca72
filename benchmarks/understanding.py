"""Held-out evaluation of what the bot understands: FAQ answers, hand-off intent, language.

The messages in `tests/eval/` were written the way customers write, by authors who never
saw the knowledge base's wording (`faq.<lang>.yaml`, `handoff.<lang>.yaml`,
`langid.<lang>.txt`). Each message falls into the tuning or the test part by a hash of its
text, so the split is fixed and nobody chooses it; thresholds, synonyms and cues are tuned
on `tune` only, and the figures we publish (docs/bots.md, `make bench`) are `test`.
`tune_extra/` holds more messages written later by other authors, for tuning only.

Everything runs through the shipped configuration exactly as `inquiry-router try` does
(rules, then bots), so a rule that silences the FAQ counts against it.
"""

from __future__ import annotations

import argparse
import hashlib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "eval"
LANGUAGES = ("sv", "fi", "nb", "uk", "en")
TUNE_SHARE = 0.4  # of each file; the rest is the test part
# Tuesday 10:00 in the business time zone: open, so hours do not change the answer
OPEN_MOMENT = "2026-12-08T10:00"


def split_of(text: str) -> str:
    """'tune' or 'test', fixed by the text's hash (no one picks which message goes where)."""
    digest = hashlib.sha256(text.strip().encode("utf-8")).digest()
    return "tune" if digest[0] < 256 * TUNE_SHARE else "test"


@dataclass(frozen=True, slots=True)
class FaqCase:
    language: str
    text: str
    expect: str | None
    kind: str


@dataclass(frozen=True, slots=True)
class HandoffCase:
    language: str
    text: str
    request: bool


def _items(name: str, lang: str, split: str | None) -> list[tuple[dict[str, Any], str]]:
    """(item, split) of `name.lang.yaml`, plus `tune_extra*/` (tuning only, written later)."""
    out = []
    for item in yaml.safe_load((DATA / f"{name}.{lang}.yaml").read_text(encoding="utf-8")):
        out.append((item, split_of(str(item["text"]))))
    for extra in sorted(DATA.glob(f"tune_extra*/{name}.{lang}.yaml")):
        seen = {str(item["text"]) for item, _ in out}  # a text written twice keeps its split
        out += [(item, "tune") for item in yaml.safe_load(extra.read_text(encoding="utf-8"))
                if str(item["text"]) not in seen]
    return [(item, part) for item, part in out if split is None or part == split]


def faq_cases(split: str | None = None) -> list[FaqCase]:
    return [FaqCase(lang, str(item["text"]), item.get("expect"), str(item.get("kind", "")))
            for lang in LANGUAGES for item, _ in _items("faq", lang, split)]


def handoff_cases(split: str | None = None) -> list[HandoffCase]:
    return [HandoffCase(lang, str(item["text"]), bool(item["request"]))
            for lang in LANGUAGES for item, _ in _items("handoff", lang, split)]


def language_cases(split: str | None = None) -> list[tuple[str, str]]:
    out = []
    for lang in LANGUAGES:
        for line in (DATA / f"langid.{lang}.txt").read_text(encoding="utf-8").splitlines():
            if line.strip() and (split is None or split_of(line) == split):
                out.append((lang, line.strip()))
    return out


def load_decide(config: str | Path = ROOT / "config.yaml") -> Any:
    from router.config import load_config
    from router.wiring import build_decide

    return build_decide(load_config(str(config)))


def dry_run(decide: Any, text: str, *, channel: str = "webchat", hint: str = "",
            at: str = OPEN_MOMENT) -> dict[str, Any]:
    """What `inquiry-router try --json` prints for this message."""
    from router.commands.try_ import _context, explain

    args = argparse.Namespace(at=at, channel=channel, sender="", hint=hint, name="",
                              event="message")
    return explain(decide, _context(text, args, getattr(decide, "ruleset", None)))


def outcome(result: dict[str, Any]) -> tuple[str, list[str], bool]:
    """(entry answered automatically or '', entries suggested, handed off on request)."""
    answered, suggested, requested = "", [], False
    for action in result["actions"]:
        value = action["value"]
        if action["kind"] == "reply" and isinstance(value, dict):
            reply_id = str(value.get("reply_id", ""))
            if reply_id.startswith("faq:"):
                answered = reply_id.removeprefix("faq:")
            elif reply_id == "faq_suggest":
                suggested = [q["payload"].removeprefix("faq:") for q in value["quick_replies"]]
        elif action["kind"] == "handoff" and isinstance(value, dict):
            requested = requested or value.get("reason") == "customer_request"
    return answered, suggested, requested


def evaluate_faq(decide: Any, cases: list[FaqCase]) -> dict[str, Any]:
    per: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    misses: list[dict[str, Any]] = []
    for case in cases:
        answered, suggested, _ = outcome(dry_run(decide, case.text))
        for key in (case.language, "all"):
            row = per[key]
            row["messages"] += 1
            row["answerable"] += case.expect is not None
            row["auto"] += bool(answered)
            row["right_auto"] += bool(answered) and answered == case.expect
            row["right_offered"] += case.expect is not None and (
                answered == case.expect or case.expect in suggested)
        if answered != (case.expect or "") and (answered or case.expect):
            misses.append({"language": case.language, "text": case.text, "expect": case.expect,
                           "answered": answered, "suggested": suggested})
    report = {key: _faq_ratios(row) for key, row in per.items()}
    return {"by_language": report, "misses": misses}


def _faq_ratios(row: dict[str, int]) -> dict[str, Any]:
    return {**row,
            "precision": _ratio(row["right_auto"], row["auto"]),
            "deflection": _ratio(row["right_auto"], row["answerable"]),
            "answered_or_suggested": _ratio(row["right_offered"], row["answerable"])}


def evaluate_handoff(decide: Any, cases: list[HandoffCase]) -> dict[str, Any]:
    per: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    errors = []
    for case in cases:
        _, _, said = outcome(dry_run(decide, case.text))
        for key in (case.language, "all"):
            row = per[key]
            row["messages"] += 1
            row["tp"] += said and case.request
            row["fp"] += said and not case.request
            row["fn"] += case.request and not said
        if said != case.request:
            errors.append({"language": case.language, "text": case.text, "request": case.request})
    report = {key: {**row, "precision": _ratio(row["tp"], row["tp"] + row["fp"]),
                    "recall": _ratio(row["tp"], row["tp"] + row["fn"])}
              for key, row in per.items()}
    return {"by_language": report, "errors": errors}


def evaluate_language(decide: Any, cases: list[tuple[str, str]]) -> dict[str, Any]:
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    errors = []
    for lang, text in cases:
        got, _ = decide.ruleset.detect_language(text)
        for key in (lang, "all"):
            per[key][0] += got == lang
            per[key][1] += 1
        if got != lang:
            errors.append({"language": lang, "text": text, "detected": got})
    return {"by_language": {k: {"messages": n, "accuracy": _ratio(ok, n)}
                            for k, (ok, n) in per.items()},
            "errors": errors}


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def main() -> None:
    import json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("tune", "test", "all"), default="tune")
    parser.add_argument("--show", action="store_true", help="list the misses")
    args = parser.parse_args()
    split = None if args.split == "all" else args.split
    decide = load_decide()
    results = {"faq": evaluate_faq(decide, faq_cases(split)),
               "handoff": evaluate_handoff(decide, handoff_cases(split)),
               "language": evaluate_language(decide, language_cases(split))}
    for name, result in results.items():
        print(name, json.dumps(result["by_language"].get("all"), ensure_ascii=False))
        for lang in LANGUAGES:
            print("   ", lang, json.dumps(result["by_language"].get(lang), ensure_ascii=False))
        if args.show:
            for miss in result.get("misses", result.get("errors", [])):
                print("      x", json.dumps(miss, ensure_ascii=False))


if __name__ == "__main__":
    main()
