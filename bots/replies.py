"""Canned bot replies: which text, in which language, from where.

Lookup order for a reply id: the admin's `bots.replies` -> the rules' `replies:` (through
`ruleset.render_reply`) -> the built-in texts of bots/texts.py. `{name}` placeholders
(`{wait}`, `{next_opening}`, `{links}`) are filled in all three.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from bots.texts import BUILTIN, fill
from router.domain.errors import RouterError
from router.domain.model import DecisionContext, QuickReply, ReplyContent

log = logging.getLogger(__name__)


def pick(texts: Mapping[str, str], language: str, default_language: str) -> tuple[str, str]:
    """(language, text) for the customer: theirs, else the default, else English, else any."""
    for lang in (language, default_language, "en"):
        if lang and texts.get(lang):
            return lang, texts[lang]
    for lang, text in texts.items():
        if text:
            return lang, text
    return language, ""


class Replies:
    def __init__(self, own: Mapping[str, Mapping[str, str]], ruleset: Any,
                 default_language: str) -> None:
        self.own = own
        self.ruleset = ruleset
        self.default_language = default_language

    def known(self, reply_id: str) -> bool:
        return reply_id in self.own or reply_id in BUILTIN or self._ruleset_knows(reply_id)

    def _ruleset_knows(self, reply_id: str) -> bool:
        return reply_id in (getattr(self.ruleset, "reply_ids", None) or ())

    def render(self, reply_id: str, language: str, ctx: DecisionContext,
               values: Mapping[str, str] | None = None,
               quick_replies: tuple[QuickReply, ...] = ()) -> ReplyContent:
        values = values or {}
        if reply_id in self.own:
            lang, text = pick(self.own[reply_id], language, self.default_language)
            return ReplyContent(fill(text, values), quick_replies=quick_replies,
                                reply_id=reply_id, language=lang)
        from_rules = self._from_ruleset(reply_id, language, ctx)
        if from_rules is not None:
            return ReplyContent(fill(from_rules.text, values), html=fill(from_rules.html, values),
                                quick_replies=quick_replies or from_rules.quick_replies,
                                reply_id=reply_id, language=from_rules.language or language)
        lang, text = pick(BUILTIN.get(reply_id, {}), language, self.default_language)
        return ReplyContent(fill(text, values), quick_replies=quick_replies, reply_id=reply_id,
                            language=lang)

    def _from_ruleset(self, reply_id: str, language: str,
                      ctx: DecisionContext) -> ReplyContent | None:
        render = getattr(self.ruleset, "render_reply", None)
        if render is None:
            return None
        try:
            content = render(reply_id, language=language, channel=ctx.conversation.channel, ctx=ctx)
        except (KeyError, LookupError, ValueError, RouterError):
            return None
        return content if isinstance(content, ReplyContent) else None
