"""A pydantic validation error as located problems: one per error, at file:line.

The service settings (router/config.py), the bots' settings (bots/compile.py) and the rules
(rules/context.py) all validate YAML with pydantic models and report each error where the
admin wrote it. One function does it, so all three read the same way: an unknown key
names the keys the model at that place knows (with a did-you-mean), other errors carry
their dotted path and pydantic's message.
"""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel, ValidationError

from router.configuration.yamlsrc import Path_, Source
from router.domain.errors import Problem


def located_problems(source: Source, exc: ValidationError, prefix: Path_ = (),
                     model: Any = None) -> list[Problem]:
    """The errors of `exc`, raised validating the value at `prefix` against `model`."""
    problems: list[Problem] = []
    seen: set[tuple[Any, ...]] = set()
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not _is_union_tag(p))
        full = (*prefix, *loc)
        if full in seen:  # a union reports once per member; one message is enough
            continue
        seen.add(full)
        if err["type"] == "extra_forbidden":
            key = str(loc[-1]) if loc else "?"
            parent = model_at(model, loc[:-1])
            known = sorted(parent.model_fields) if parent else []
            close = difflib.get_close_matches(key, known, n=1)
            hint = (f"did you mean '{close[0]}'?" if close
                    else f"known keys: {', '.join(known)}" if known else "")
            problems.append(source.problem(full, f"unknown key '{key}'", hint))
            continue
        dotted = ".".join(str(p) for p in full)
        msg = str(err["msg"]).removeprefix("Value error, ")
        problems.append(source.problem(full, f"{dotted}: {msg}"))
    return problems


def model_at(model: Any, loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """Follow `loc` through nested pydantic models (dict keys and list indexes skipped)."""
    current: Any = model
    for part in loc:
        if isinstance(current, type) and issubclass(current, BaseModel) and part in current.model_fields:
            current = current.model_fields[part].annotation
            args = getattr(current, "__args__", ())
            models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
            if models:
                current = models[-1]
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _is_union_tag(part: Any) -> bool:
    # pydantic puts union member names into error locations ("list[str]", "function-after")
    return isinstance(part, str) and any(ch in part for ch in "[]-") and part != "-"
