"""Admin regexes compiled with RE2: linear time, so no message can stall the router.

Python's `re` backtracks: `(a+)+$` against a long run of "a"s takes exponential time.
RE2 cannot, but its `\\b` only knows ASCII letters, so `\\bfaktura\\b` would miss "å" and
Cyrillic boundaries. We rewrite `\\b` at the start or end of a pattern or alternative into
a Unicode letter/digit boundary (and `\\w` / `\\W` into Unicode letter classes, since
RE2's are ASCII too), and refuse `\\b` elsewhere and `\\B` with a hint, rather
than silently matching something else.
"""

from __future__ import annotations

import re
from typing import Any

import re2

WORD = r"[\pL\pN_]"
NON_WORD = r"[^\pL\pN_]"
LEADING = r"(?:^|[^\pL\pN_])"
TRAILING = r"(?:[^\pL\pN_]|$)"


_CLASS_WORD = re.compile(r"((?:^|[^\\])(?:\\\\)*)\\w")


def _tokens(pattern: str) -> list[str]:
    """Split into atoms: escapes (`\\x`), whole character classes, and single characters."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            out.append(pattern[i:i + 2])
            i += 2
        elif c == "[":
            j = i + 1
            if j < n and pattern[j] == "^":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            out.append(pattern[i:j + 1])
            i = j + 1
        elif c == "(" and pattern.startswith("(?", i):
            # a group opener with flags or a name: "(?:", "(?i)", "(?P<name>", "(?i:"
            j = i + 2
            while j < n and pattern[j] not in ":)>":
                j += 1
            out.append(pattern[i:j + 1])
            i = j + 1
        else:
            out.append(c)
            i += 1
    return out


def unicode_boundaries(pattern: str) -> str:
    """Rewrite `\\b` into Unicode-aware boundaries. Raises ValueError where unsupported."""
    toks = _tokens(pattern)
    out: list[str] = []
    for k, tok in enumerate(toks):
        if tok == "\\B":
            raise ValueError("\\B is not supported (RE2 only knows ASCII word characters)")
        if tok == "\\w":
            out.append(WORD)
            continue
        if tok == "\\W":
            out.append(NON_WORD)
            continue
        if tok.startswith("[") and "\\w" in tok:
            out.append(_CLASS_WORD.sub(lambda m: m.group(1) + r"\pL\pN_", tok))
            continue
        if tok != "\\b":
            out.append(tok)
            continue
        prev = toks[k - 1] if k else ""
        nxt = toks[k + 1] if k + 1 < len(toks) else ""
        if k == 0 or prev in ("|", "(") or prev.startswith("(?"):
            out.append(LEADING)
        elif nxt in ("", "|", ")"):
            out.append(TRAILING)
        else:
            raise ValueError(
                "\\b is only supported at the start or end of the pattern or of an "
                "alternative; use \\s or [^\\pL] in the middle")
    return "".join(out)


def compile_regex(pattern: str, *, case_sensitive: bool = False, utf8: bool = False) -> Any:
    """Compile for `search`. Raises ValueError with RE2's reason for bad syntax.

    `utf8`: compiled from the pattern's UTF-8 bytes, `search` then takes a text's UTF-8
    bytes (RE2 runs on those either way; offsets are in bytes). Searching a `str`
    encodes it and maps offsets back to characters on every call, which cost more than
    the match: rules only ask whether a pattern occurs, once per message for each regex.
    """
    options = re2.Options()
    options.log_errors = False
    options.case_sensitive = case_sensitive
    try:
        source = unicode_boundaries(pattern)
        if utf8:
            options.encoding = re2.Options.Encoding.UTF8
            return re2.compile(source.encode("utf-8"), options)
        return re2.compile(source, options)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise ValueError(f"invalid regex (RE2 syntax): {reason}") from None
