"""State shared while compiling one rule set: where problems go and what names exist."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from router.configuration.validation import located_problems
from router.configuration.yamlsrc import Path_, Source
from router.domain.errors import Problem
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
        self.problems.extend(located_problems(self.source, exc, path, model))
