"""What the search box means, the console's views, and match snippets (issue 24). Pure.

The box takes words and operators: `tag:vip status:queued queue:billing assignee:me
channel:email lang:sv since:2026-03-01 until:2026-04-01 is:snoozed #12`. Words must all
match one message or one contact (name, email, phone, channel identity), each as a
prefix; a number written like a phone number also matches contacts' phones in the forms
people type them (+46 70-123 45 67, 0701234567).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from router.domain.agent_errors import ActionRejected
from router.domain.model import Status
from router.store.sql_search import SearchQuery

MAX_TERMS = 10
MAX_TERM = 64
WORD = re.compile(r"[^\W_]+")
PHONE = re.compile(r"^[\d\s().+-]+$")
OPERATOR = re.compile(r"^(status|queue|assignee|tag|channel|lang|language|since|until|is):(\S+)$",
                      re.IGNORECASE)
OPEN = (str(Status.BOT), str(Status.QUEUED), str(Status.ASSIGNED))
#: the built-in views: id -> (name, what it lists); "mine" and "mentions" are the caller's
BUILTIN: dict[str, tuple[str, dict[str, Any]]] = {
    "open": ("All open", {"statuses": (str(Status.QUEUED), str(Status.ASSIGNED)),
                          "snoozed": False}),
    "unassigned": ("Unassigned", {"statuses": (str(Status.QUEUED),), "snoozed": False,
                                  "order": "urgency"}),
    "mine": ("Mine", {"statuses": (str(Status.ASSIGNED),)}),
    "mentions": ("Mentions", {"statuses": OPEN}),
    "snoozed": ("Snoozed", {"statuses": OPEN, "snoozed": True}),
    "resolved": ("Resolved", {"statuses": (str(Status.RESOLVED),)}),
    "bot": ("With the bot", {"statuses": (str(Status.BOT),)}),
}
UNCOUNTED = ("resolved",)  # every resolved conversation ever: no count to watch


@dataclass(slots=True)
class Box:
    """The search box's text, taken apart."""

    terms: list[str] = field(default_factory=list)
    phone: str = ""
    conversation_id: int | None = None
    filters: dict[str, str] = field(default_factory=dict)


def parse_box(text: str) -> Box:
    box = Box()
    words: list[str] = []
    for token in text.split():
        op = OPERATOR.match(token)
        if op:
            key = op.group(1).lower()
            key = {"lang": "language"}.get(key, key)
            if key == "tag" and box.filters.get("tag"):
                box.filters["tag"] += "," + op.group(2)
            else:
                box.filters[key] = op.group(2)
        elif re.fullmatch(r"#\d{1,9}", token):
            box.conversation_id = int(token[1:])
        else:
            words.append(token)
    rest = " ".join(words)
    if re.fullmatch(r"\d{1,9}", rest):
        box.conversation_id = int(rest)  # "12": conversation 12, and the word 12
    digits = re.sub(r"\D", "", rest)
    if PHONE.match(rest) and len(digits) >= 6:
        box.phone = digits.lstrip("0")
    box.terms = [w.lower()[:MAX_TERM] for w in WORD.findall(rest)][:MAX_TERMS]
    return box


def split(value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))


def when(value: str, where: str, *, end: bool = False) -> datetime:
    """A date (the day's start; with `end`, the next day's) or an ISO date-time (UTC if
    it names no zone)."""
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            day = date.fromisoformat(value) + timedelta(days=1 if end else 0)
            return datetime.combine(day, time(), tzinfo=UTC)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ActionRejected(f"{where}: expected a date (2026-03-01) or an ISO date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def apply_filters(base: SearchQuery, filters: dict[str, str], me: str, where: str) -> SearchQuery:
    """`base` with the filters (API parameters or box operators, by name) applied: each
    given one replaces the view's, tags add up."""
    changes: dict[str, Any] = {}
    for key, value in filters.items():
        if not value:
            continue
        if key == "status":
            statuses = split(value)
            unknown = [s for s in statuses if s not in {str(s) for s in Status}]
            if unknown:
                raise ActionRejected(f"{where}.status: unknown status {unknown[0]!r} "
                                     "(bot, queued, assigned, resolved)")
            changes["statuses"] = statuses
        elif key == "queue":
            changes["queues"] = split(value)
        elif key == "assignee":
            changes["assignee"] = {"me": me, "none": ""}.get(value, value)
        elif key == "tag":
            changes["tags"] = tuple(dict.fromkeys((*base.tags, *split(value))))
        elif key == "channel":
            changes["channels"] = split(value)
        elif key == "language":
            changes["languages"] = split(value)
        elif key == "since":
            changes["since"] = when(value, f"{where}.since")
        elif key == "until":
            changes["until"] = when(value, f"{where}.until", end=True)
        elif key == "is":
            view = view_query(value, me, where)
            changes.update({k: getattr(view, k) for k in ("statuses", "snoozed", "mentions",
                                                          "assignee")
                            if getattr(view, k) != getattr(SearchQuery(), k)})
    return replace(base, **changes)


def view_query(view: str, me: str, where: str = "query.view") -> SearchQuery:
    """The query of a built-in view or of `tag:NAME` (saved views: the API reads them)."""
    if view.startswith("tag:") and len(view) > 4:
        return SearchQuery(statuses=OPEN, tags=(view[4:],))
    if view not in BUILTIN:
        raise ActionRejected(f"{where}: unknown view {view!r} (one of {', '.join(BUILTIN)}, "
                             "tag:NAME or saved:ID)")
    query = SearchQuery(**BUILTIN[view][1])
    if view == "mine":
        query = replace(query, assignee=me)
    elif view == "mentions":
        query = replace(query, mentions=me)
    return query


def with_box(base: SearchQuery, text: str, me: str) -> SearchQuery:
    box = parse_box(text)
    query = apply_filters(base, box.filters, me, "query.q")
    return replace(query, terms=tuple(box.terms), phone=box.phone,
                   conversation_id=box.conversation_id)


# --- snippets -----------------------------------------------------------------------
@functools.lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", ch.lower())
                   if not unicodedata.combining(c)) or ch


def _folded(text: str) -> tuple[str, list[int]]:
    """`text` lowercased without diacritics, and for each of its characters the position
    in `text` it came from (so marks found in the folded text fit the original)."""
    if text.isascii():
        return text.lower(), list(range(len(text)))
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        plain = _fold_char(ch)
        out.append(plain)
        where.extend([i] * len(plain))
    return "".join(out), where


@functools.lru_cache(maxsize=256)
def _patterns(terms: tuple[str, ...]) -> tuple[tuple[re.Pattern[str], ...], ...]:
    """Per term: the word as typed, then shorter forms of it (a stemmed match: "fakturan"
    found "fakturor"), each matching a whole word that begins with it."""
    out = []
    for term in terms:
        plain = _folded(term)[0]
        stems = [plain[:n] for n in range(len(plain), max(3, len(plain) - 3) - 1, -1)] or [plain]
        out.append(tuple(re.compile(r"(?<![^\W_])" + re.escape(stem) + r"[^\W_]*")
                         for stem in stems))
    return tuple(out)


def snippet(text: str, terms: list[str] | tuple[str, ...], width: int = 160
            ) -> dict[str, Any]:
    """An excerpt of `text` around the first matched word, and the [start, end) of each
    matched word in the excerpt: the console marks them (as text, never as HTML)."""
    folded, where = _folded(text)
    spans: list[tuple[int, int]] = []
    for forms in _patterns(tuple(terms)):
        for pattern in forms:
            found = [(where[m.start()], where[m.end() - 1] + 1) for m in pattern.finditer(folded)]
            if found:
                spans.extend(found)
                break
    spans = sorted(set(spans))
    start = 0
    if spans and len(text) > width:
        start = max(0, min(spans[0][0] - width // 3, len(text) - width))
        while 0 < start < spans[0][0] and not text[start - 1].isspace():
            start += 1  # begin at a word
    excerpt = text[start:start + width]
    marks = [[s - start, min(e, start + width) - start] for s, e in spans
             if start <= s < start + width]
    prefix = "…" if start > 0 else ""
    suffix = "…" if start + width < len(text) else ""
    return {"text": prefix + excerpt + suffix,
            "marks": [[s + len(prefix), e + len(prefix)] for s, e in marks]}
