"""What the FAQ bot does with imported articles (bots/articles.py) in one turn.

The FAQ's own entries come first: they are written for customers. Only when none of them
answers is the article index asked, and its best section is answered alone only when its
verdict says so (bots/articles.py `candidates_view`) and no FAQ entry was close enough to
be suggested. Otherwise the articles join the FAQ's suggestions ("Did you mean ...?",
after the FAQ's own), and a customer who picks one, by button (`kb:<section>`) or by its
number, gets that section.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bots import state as keys
from bots.articles import PREFIX, answer_text, candidates_view
from bots.faq import problem_word
from router.domain.model import DecisionContext, InboundKind, ReplyContent

if TYPE_CHECKING:
    from bots.engine import Turn
    from bots.stage import Bots


def article_choice(ctx: DecisionContext) -> str:
    """The section a "Did you mean" button named (`kb:<section>`), or ''."""
    data = ctx.message.callback_data
    return data if ctx.message.kind == InboundKind.CALLBACK and data.startswith(PREFIX) else ""


def article_view(bots: Bots, turn: Turn, faq_view: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Article candidates with verdicts for this message (noted in the trace), or []."""
    index = bots.articles
    if index is None:
        return []
    settings = bots.faq.settings
    a = settings.articles
    text = turn.ctx.message.text
    faq_first = next((v["entry"] for v in faq_view if v["verdict"] != "below"), "")
    view = candidates_view(index.match(text, turn.language, limit=settings.max_suggestions + 1),
                           answer_at=a.answer_at, suggest_at=a.suggest_at, margin=a.margin,
                           language=turn.language, problem=problem_word(text),
                           faq_first=faq_first, agree_margin=a.agree_margin,
                           agree_at=a.agree_at)
    if view:
        turn.note("kb", candidates=[_brief(v) for v in view[:3]])
    return view


def _brief(item: dict[str, Any]) -> dict[str, Any]:
    return {k: item[k] for k in ("entry", "article", "section", "score", "verdict", "why")
            if k in item}


def answer_article(bots: Bots, turn: Turn, entry: str) -> bool:
    """Reply with the section `entry` (`kb:<id>`); False when it no longer exists."""
    index = bots.articles
    section = index.get(entry) if index is not None else None
    if section is None:
        return False
    text = answer_text(section, bots.faq.settings.articles.max_chars)
    turn.reply(ReplyContent(text, reply_id=PREFIX + section.id,
                            language=section.language or turn.language), "kb")
    turn.meta.update({keys.FAILURES: 0, keys.SUGGESTED: []})
    return True


def suggestion_label(bots: Bots, entry: str) -> str | None:
    """A suggestion's button label when `entry` is an article's section, else None."""
    if not entry.startswith(PREFIX) or bots.articles is None:
        return None
    section = bots.articles.get(entry)
    return section.label if section is not None else entry
