"""State shared while compiling one rule set: where problems go and what names exist."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from router.errors import Problem
from router.yamlsrc import Path_, Source
from rules.keywords import KeywordIndex


@dataclass
class CompileContext:
    source: Source
    languages: tuple[str, ...]
    default_language: str
    queues: Collection[str]
    agents: Collection[str]
    teams: Collection[str]
    reply_ids: Collection[str]
    keywords: KeywordIndex = field(default_factory=KeywordIndex)
    problems: list[Problem] = field(default_factory=list)

    def problem(self, path: Path_, message: str, hint: str = "") -> None:
        self.problems.append(self.source.problem(path, message, hint))

    def unknown(self, path: Path_, what: str, name: str, known: Iterable[str],
                where: str) -> None:
        """'unknown queue 'biling'' with a did-you-mean or the list of known names."""
        known = sorted(known)
        close = difflib.get_close_matches(name, known, n=1)
        hint = (f"did you mean '{close[0]}'?" if close
                else f"define it under {where}" + (f" or use one of: {', '.join(known)}"
                                                   if known else ""))
        self.problem(path, f"unknown {what} '{name}'", hint)

    def validation(self, path: Path_, exc: ValidationError, model: Any = None) -> None:
        """Report a pydantic error under `path`, one problem per error."""
        seen: set[tuple[Any, ...]] = set()
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not _is_union_tag(p))
            full = (*path, *loc)
            if full in seen:  # a union reports once per member; one message is enough
                continue
            seen.add(full)
            if err["type"] == "extra_forbidden":
                key = str(loc[-1]) if loc else "?"
                fields = sorted(getattr(model, "model_fields", {}) or {})
                close = difflib.get_close_matches(key, fields, n=1)
                hint = (f"did you mean '{close[0]}'?" if close
                        else f"known keys: {', '.join(fields)}" if fields else "")
                self.problem(full, f"unknown key '{key}'", hint)
                continue
            msg = str(err["msg"]).removeprefix("Value error, ")
            dotted = ".".join(str(p) for p in full)
            self.problem(full, f"{dotted}: {msg}")


def _is_union_tag(part: Any) -> bool:
    # pydantic puts union member names into error locations ("list[str]", "function-after")
    return isinstance(part, str) and any(ch in part for ch in "[]-") and part != "-"
