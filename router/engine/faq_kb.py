"""The knowledge base as FAQ suggestions see it (router/engine/faq_suggest.py).

Three questions about the admin's `faq:` entries: is an agent's reply one of the
answers (and which), is a text one of the question variants already, and may an entry
get questions in a language. Why the reply test looks for the answer *inside* the
reply: agents paste the answer between a greeting and a signature. Why it is strict
(a near copy, not a paraphrase): a wrong suggestion costs the admin's attention, and a
wrong variant applied would make the bot answer the wrong question.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz

from router.domain.fold import fold

MATCH_AT = 85.0  # 0-100: how close an agent's reply must be to an answer
MIN_PARTIAL = 20  # folded answers shorter than this must match the whole reply
MIN_OVERLAP = 0.5  # share of an answer's words a reply must have to be compared at all


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    index: int  # position in the merged `faq` entries: `entries_path + (index,)` in the config
    questions: Mapping[str, Sequence[str]]
    answers: Mapping[str, str]


class KnowledgeBase:
    """The knowledge base as this module needs it: answers to recognise, variants to skip."""

    def __init__(self, entries: Sequence[Entry], *, languages: Iterable[str] = (),
                 entries_path: tuple[str, ...] = ("faq", "entries")) -> None:
        self.entries = {e.id: e for e in entries}
        self.entries_path = entries_path
        self.languages = frozenset(languages)  # configured; empty: any the entry has
        self.known = {fold(q) for e in entries for qs in e.questions.values() for q in qs}
        self._answers = [(e.id, lang, folded, frozenset(folded.split()))
                         for e in entries for lang, text in e.answers.items()
                         if (folded := fold(str(text)))]

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> KnowledgeBase:
        """From validated config data (`faq:` is a list of entries or a mapping)."""
        raw = data.get("faq")
        path: tuple[str, ...] = ("faq",) if isinstance(raw, list) else ("faq", "entries")
        items = raw if isinstance(raw, list) else (raw or {}).get("entries") or []
        entries = [Entry(str(e["id"]), i, {str(k): [str(q) for q in v or []]
                                           for k, v in (e.get("questions") or {}).items()},
                         {str(k): str(v) for k, v in (e.get("answers") or {}).items()})
                   for i, e in enumerate(items)]
        langs = data.get("languages")
        return cls(entries, languages=[str(x) for x in langs] if isinstance(langs, list) else (),
                   entries_path=path)

    def language_ok(self, entry_id: str, language: str) -> bool:
        """A language `inquiry-router check` accepts for the entry's questions."""
        entry = self.entries.get(entry_id)
        if entry is None or not language:
            return False
        if self.languages:
            return language in self.languages
        return language in entry.questions or language in entry.answers

    def answer_match(self, text: str) -> tuple[str, str] | None:
        """(entry id, language) whose answer `text` is a near copy of, else None."""
        reply = fold(text)
        words = frozenset(reply.split())
        best: tuple[float, str, str] | None = None
        for entry_id, language, answer, answer_words in self._answers:
            if len(answer_words & words) < MIN_OVERLAP * len(answer_words):
                continue  # cheap pre-filter: most answers share few words with a reply
            if len(reply) >= len(answer) >= MIN_PARTIAL:
                score = fuzz.partial_ratio(answer, reply)  # the answer inside the reply
            else:
                score = fuzz.ratio(answer, reply)
            if score >= MATCH_AT and (best is None or score > best[0]):
                best = (score, entry_id, language)
        return None if best is None else (best[1], best[2])
