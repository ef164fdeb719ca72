"""FAQ suggestions: new question variants learnt from what agents and customers did.

Why: the FAQ bot only answers questions phrased close to a variant the admin wrote
(bots/faq.py), and customers keep finding new phrasings. Each time an agent answers a
question with an entry's answer, or a customer confirms a "Did you mean" button, the
conversation shows a phrasing the bot missed *and* the entry it belongs to. This module
reads that evidence from the store and ranks the phrasings by how often they were seen.
It only proposes: router/engine/faq_patch.py turns proposals into a YAML diff, and nothing
reaches the knowledge base unless an admin applies it.

Two sources of evidence:
- an agent's reply that is a near copy of an entry's answer in some language (agents
  wrap the answer in a greeting: router/engine/faq_kb.py looks for the answer *inside* the
  reply). The customer's last question before that reply is a variant of the entry;
- the bot's "Did you mean" (decision trace step `faq` with suggested candidates)
  followed by the customer's pick (step `faq_choice`, a button or the number typed). The
  message that got the suggestion is a variant of the picked entry.

What is never proposed: personal data (e-mail addresses, phone numbers, long digit runs,
links). The config is no place for it, and masking would leave odd variants, so such
messages are skipped. Long messages (an e-mail body is not a question variant) are
skipped too, and so is text the knowledge base already has (compared folded, as the
matcher compares). Hand-off requests, button presses and CSAT ratings are not questions,
and neither are messages the admin's rules hand to a person at once: those are skipped.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from router.configuration.durations import parse_duration
from router.domain.fold import fold
from router.domain.model import AuthorKind, Conversation, Direction, Event, Message
from router.engine.faq_kb import KnowledgeBase
from router.store.base import Store, Tx

AGENT = "agent_answer"
CHOICE = "did_you_mean"
MAX_CHARS = 200  # longer messages are not question variants (and may carry anything)
BATCH = 200
#: decision trace steps (stage "bots") of customer messages that are not questions
NOT_A_QUESTION = frozenset({"handoff_phrase", "faq_choice", "csat", "loop_guard"})

_EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")
_LINK = re.compile(r"(?i)\b(?:[a-z][a-z0-9+.-]*://|www\.)")
# a run of five digits, or six with single separators between them: phone, account,
# order and card numbers, personal identity numbers, postcodes, dates
_DIGITS = re.compile(r"\d{5,}|\d(?:[\s().\-/]?\d){5,}")


def personal(text: str) -> bool:
    """True when `text` may identify someone: such messages never become variants."""
    return bool(_EMAIL.search(text) or _LINK.search(text) or _DIGITS.search(text))


def clean(text: str) -> str | None:
    """The message as a variant (one line, trimmed), or None when it must not be one."""
    one = " ".join(text.split())
    if (not one or len(one) > MAX_CHARS or not one.isprintable() or personal(one)
            or sum(ch.isalpha() for ch in one) < 3):
        return None
    return one


def parse_since(value: str, now: datetime) -> datetime:
    """`90d`, `2w`, `12h` back from `now`, or a day (`2026-03-01`) or ISO time."""
    try:
        return now - parse_duration(value)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"'{value}' is neither a duration (90d, 2w, 12h) nor a date "
                         "(YYYY-MM-DD)") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Evidence:
    """One customer message that asked about `entry`, and how we know."""

    entry: str
    language: str
    text: str
    source: str  # AGENT or CHOICE
    conversation_id: int
    message_id: int


@dataclass(slots=True)
class _Turn:
    """One decision about a customer message: its bots trace steps, and whether it was a
    request for a person, a button press or a rating rather than a question."""

    message_id: int
    at: datetime
    steps: list[dict[str, Any]]
    not_a_question: bool


def _turns(events: Iterable[Event]) -> list[_Turn]:
    current, out = 0, []
    for e in events:
        if e.kind in ("message_received", "message_edited"):
            current = int(e.data.get("message_id") or 0)
        elif e.kind == "rules_applied":
            trace = [s for s in e.data.get("trace") or [] if isinstance(s, dict)]
            steps = [s for s in trace if s.get("stage") == "bots"]
            # the bots saw a hand-off request (or a pick, a rating), or the admin's rules
            # send such messages to a person: either way not FAQ material
            handed = any(s.get("matched") and any(isinstance(a, dict) and a.get("kind") == "handoff"
                                                  for a in s.get("actions") or ())
                         for s in trace if "rule" in s)
            out.append(_Turn(current, e.created_at, steps,
                             handed or any(s.get("step") in NOT_A_QUESTION for s in steps)))
    return out


def evidence_for(conv: Conversation, messages: Sequence[Message], events: Sequence[Event],
                 kb: KnowledgeBase, since: datetime) -> list[Evidence]:
    """The evidence in one conversation (its messages and events in id order)."""
    turns = _turns(events)
    by_id = {m.id: m for m in messages if m.author_kind == AuthorKind.CUSTOMER}
    return [*_agent_answers(conv, messages, turns, kb, since),
            *_choices(conv, by_id, turns, kb, since)]


def _language(kb: KnowledgeBase, entry: str, *candidates: str) -> str:
    """The first known language (the message's, the conversation's, the evidence's)
    if the entry may have questions in it, else ""."""
    language = next((c for c in candidates if c), "")
    return language if kb.language_ok(entry, language) else ""


def _agent_answers(conv: Conversation, messages: Sequence[Message], turns: list[_Turn],
                   kb: KnowledgeBase, since: datetime) -> Iterator[Evidence]:
    skip = {t.message_id for t in turns if t.not_a_question}
    waiting: list[Message] = []  # customer messages since the last answer we recognised
    for m in messages:
        if m.author_kind == AuthorKind.CUSTOMER:
            waiting.append(m)
            continue
        if m.author_kind != AuthorKind.AGENT or m.direction != Direction.OUTBOUND or m.internal:
            continue
        hit = kb.answer_match(m.text)
        if hit is None:
            continue
        asked = [q for q in waiting if q.id not in skip]
        waiting = []
        if asked and m.created_at >= since:
            # the last question only: an earlier one may have been about something else
            question, (entry, hint) = asked[-1], hit
            language = _language(kb, entry, question.language, conv.language, hint)
            if language:
                yield Evidence(entry, language, question.text, AGENT, conv.id, question.id)


def _choices(conv: Conversation, customer: Mapping[int, Message], turns: list[_Turn],
             kb: KnowledgeBase, since: datetime) -> Iterator[Evidence]:
    offered: tuple[int, dict[str, str]] | None = None  # (message, {suggested entry: language})
    for turn in turns:
        for step in turn.steps:
            name = step.get("step")
            if name == "faq":
                offered = _offered(turn.message_id, step.get("candidates") or [])
            elif name == "faq_choice":
                entry = str(step.get("entry") or "")
                if offered is not None and entry in offered[1] and turn.at >= since:
                    question = customer.get(offered[0])
                    language = _language(kb, entry, question.language if question else "",
                                         conv.language, offered[1][entry])
                    if question is not None and language:
                        yield Evidence(entry, language, question.text, CHOICE, conv.id,
                                       question.id)
                offered = None


def _offered(message_id: int, candidates: list[dict[str, Any]]) -> tuple[int, dict[str, str]] | None:
    """What "Did you mean" offered for a message, from its `faq` step (None: it answered)."""
    if not candidates or candidates[0].get("verdict") == "answer":
        return None
    offered = {str(c.get("entry")): str(c.get("language") or "")
               for c in candidates if c.get("verdict") == "suggest"}
    return (message_id, offered) if offered else None


async def collect(store: Store, kb: KnowledgeBase, since: datetime, *,
                  batch: int = BATCH) -> list[Evidence]:
    """Every piece of evidence since `since`, read in id-keyed batches (one snapshot per
    batch, so a long history never pins one reader)."""
    out: list[Evidence] = []
    after = 0
    while True:
        async def q(tx: Tx, after: int = after) -> tuple[list[Conversation], list[Message],
                                                          list[Event]]:
            convs = await tx.faq_conversations(since, after_id=after, limit=batch)
            ids = [c.id for c in convs]
            return convs, await tx.faq_messages(ids), await tx.faq_events(ids)

        convs, messages, events = await store.read(q)
        if not convs:
            return out
        msgs: dict[int, list[Message]] = defaultdict(list)
        evs: dict[int, list[Event]] = defaultdict(list)
        for m in messages:
            msgs[m.conversation_id].append(m)
        for e in events:
            evs[e.conversation_id or 0].append(e)
        for c in convs:
            out.extend(evidence_for(c, msgs[c.id], evs[c.id], kb, since))
        after = convs[-1].id


@dataclass(slots=True)
class Suggestion:
    """A proposed question variant; `file`/`line` say where it would go (faq_patch)."""

    entry: str
    language: str
    text: str
    count: int
    sources: list[str]
    conversations: list[int] = field(default_factory=list)
    file: str = ""
    line: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"entry": self.entry, "language": self.language, "text": self.text,
                "count": self.count, "sources": self.sources,
                "conversations": self.conversations, "file": self.file, "line": self.line}


def rank(evidence: Iterable[Evidence], kb: KnowledgeBase, *, min_count: int = 1,
         limit: int = 100) -> list[Suggestion]:
    """Deduplicated suggestions, most often seen first.

    A message counts once per entry whatever its sources; texts that fold alike are one
    suggestion. When the same text was evidence for several entries, the most frequent
    wins, and a tie proposes nothing (the evidence disagrees).
    """
    sources: dict[tuple[int, str], set[str]] = defaultdict(set)
    first: dict[tuple[int, str], Evidence] = {}
    for ev in evidence:
        first.setdefault((ev.message_id, ev.entry), ev)
        sources[(ev.message_id, ev.entry)].add(ev.source)
    groups: dict[str, dict[str, list[Evidence]]] = defaultdict(lambda: defaultdict(list))
    for ev in first.values():
        text = clean(ev.text)
        key = fold(text) if text else ""
        if key and key not in kb.known:
            groups[key][ev.entry].append(ev)
    out = []
    for by_entry in groups.values():
        ranked = sorted(by_entry.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        if len(ranked) > 1 and len(ranked[0][1]) == len(ranked[1][1]):
            continue
        entry, evs = ranked[0]
        if len(evs) < min_count:
            continue
        kinds = sorted({s for e in evs for s in sources[(e.message_id, entry)]})
        convs = sorted({e.conversation_id for e in evs})[:5]
        text = Counter(clean(e.text) or "" for e in evs).most_common(1)[0][0]
        language = Counter(e.language for e in evs).most_common(1)[0][0]
        out.append(Suggestion(entry, language, text, len(evs), kinds, convs))
    out.sort(key=lambda s: (-s.count, s.entry, s.language, s.text))
    return out[:limit]


async def suggest(store: Store, kb: KnowledgeBase, since: datetime, *, min_count: int = 1,
                  limit: int = 100) -> list[Suggestion]:
    return rank(await collect(store, kb, since), kb, min_count=min_count, limit=limit)
