"""The widget's interface strings and the language a visitor gets.

The built-in tables (en, sv, fi, nb, uk) live in `strings.json`, read once; the page gets
the tables of the offered languages in its config, so the browser switches language
without another request. The rules for matching a browser's languages are mirrored in
`static/chat.js` and `static/widget.js` (exact code, then its primary subtag, then
no/nn for nb).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import resources
from typing import Final

#: offered codes whose strings are another built-in table's
_ALIASES: Final = {"no": "nb"}


def _load() -> dict[str, dict[str, str]]:
    folder = resources.files("channels.webchat")
    tables: dict[str, dict[str, str]] = json.loads(
        (folder / "strings.json").read_text(encoding="utf-8"))
    # the strings of attachments (issue 24) live in their own file, per language
    for code, extra in json.loads(
            (folder / "attach_strings.json").read_text(encoding="utf-8")).items():
        tables.setdefault(code, {}).update(extra)
    return tables


STRINGS: Final[dict[str, dict[str, str]]] = _load()
BUILT_IN: Final = tuple(STRINGS)


def table(code: str, *, title: str | None = None) -> dict[str, str]:
    """Every interface string in `code`: its built-in table, English for what it lacks
    (a language with no table is all English but keeps its code as its name), and the
    admin's `title` when given."""
    lower = code.lower()
    own = (STRINGS.get(code) or STRINGS.get(_ALIASES.get(lower, lower))
           or STRINGS.get(lower.split("-")[0]) or {})
    out = {**STRINGS["en"], **own, "name": own.get("name", code)}
    if title:
        out["title"] = title
    return out


def match(wanted: str, offered: Sequence[str]) -> str | None:
    """The offered code for one browser language (`sv-SE` -> `sv`, `no` -> `nb`), or None."""
    by_lower = {o.lower(): o for o in offered}
    code = wanted.strip().lower()
    primary = code.split("-")[0]
    hit = by_lower.get(code) or by_lower.get(primary)
    if hit is None and primary in ("no", "nn"):
        hit = by_lower.get("nb")
    return hit


def pick_language(accept_language: str, offered: Sequence[str], default: str) -> str:
    """The first offered language of an `Accept-Language` header, by preference."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(accept_language.split(",")):
        tag, _, params = part.partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag.strip() and tag.strip() != "*" and q > 0:
            ranked.append((-q, i, tag.strip()))
    for _, _, tag in sorted(ranked):
        hit = match(tag, offered)
        if hit is not None:
            return hit
    return default

