"""The `Bots` stage: what the assistant does with one event, given the rules' decision."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bots import state as keys
from bots.article_flow import answer_article, article_choice, article_view, suggestion_label
from bots.articles import ArticleIndex
from bots.csat import CsatSigner, throwaway_key
from bots.csat_flow import record_press, send_survey
from bots.engine import (
    HUMAN_STATES,
    Turn,
    candidates_view,
    faq_choice,
    is_csat_press,
)
from bots.faq import FaqIndex, problem_word
from bots.guards import EchoDetector, guard_replies
from bots.handoff import HandoffPhrases
from bots.intent import HandoffIntent
from bots.replies import Replies, pick
from bots.schema import BotsSettings
from bots.state import BotState, stamp
from bots.text import fold
from router.domain.model import Decision, DecisionContext, QuickReply, ReplyContent, Status
from router.domain.timefmt import format_opening, format_wait

HANDOFF_BUTTONS = frozenset({"talk_to_human", "handoff", "human"})  # button payloads


class Hours(Protocol):
    def is_open(self, now: Any) -> bool: ...
    def next_opening(self, now: Any) -> Any: ...


@dataclass
class Bots:
    settings: BotsSettings
    faq: FaqIndex
    phrases: HandoffPhrases
    replies: Replies
    echo: EchoDetector
    default_queue: str
    default_language: str
    hours: Hours | None = None
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    queue_waits: dict[str, timedelta] | None = None  # queue -> expected first response
    public_url: str = ""
    intent: HandoffIntent | None = None  # the built-in request recogniser (None: phrases only)
    agent_names: dict[str, str] = field(default_factory=dict)  # agent id -> name
    #: the CSAT key when bots.csat.secret is not set; the service's is data/csat.secret
    csat_key: Callable[[], str] = field(default_factory=throwaway_key)
    articles: ArticleIndex | None = None  # imported help-centre articles (issue 27)

    @property
    def signer(self) -> CsatSigner:
        return CsatSigner(self.settings.csat.secret or self.csat_key())

    # --- entry points -----------------------------------------------------------------
    def decide(self, ctx: DecisionContext, rules: Decision) -> Decision:
        """The decision to apply: the rules' one, augmented and guarded by the bots."""
        state = BotState.read(ctx.conversation.metadata)
        language = (rules.language or ctx.conversation.language or ctx.contact.language
                    or self.default_language)
        turn = Turn(ctx, state, language, list(rules.actions))
        if ctx.event == "resolved":
            self._on_resolved(turn)
            return turn.decision(rules)
        if is_csat_press(ctx):
            self._on_csat_press(turn)
            return turn.decision(rules)
        if self._quiet(turn):
            return turn.decision(rules)
        if ctx.event == "message":
            self._on_message(turn)
        if self._away_sent(turn) and not state.away_sent:
            turn.meta.setdefault(keys.AWAY_SENT, keys.stamp(ctx.now))  # the rules sent it
        self._guard_replies(turn)
        return turn.decision(rules)

    def explain(self, ctx: DecisionContext, language: str = "") -> list[dict[str, Any]]:
        """FAQ candidates with scores and verdicts (for `inquiry-router try`).

        `language` is the rules' detected language: the matcher stems words in it.
        """
        s = self.faq.settings
        language = language or ctx.conversation.language or self.default_language
        out = candidates_view(self.faq.match(ctx.message.text, limit=s.max_suggestions + 2,
                                             language=language),
                              s.answer_at, s.suggest_at, s.margin, problem_word(ctx.message.text))
        if self.articles is not None:  # issue 27: article matches, after the FAQ's
            out += article_view(self, Turn(ctx, BotState(), language, []), out)
        phrase = self.handoff_request(ctx)
        if phrase:
            out.insert(0, {"entry": "(hand-off)", "score": 100.0, "language": "",
                           "question": phrase, "verdict": "handoff"})
        return out

    def handoff_request(self, ctx: DecisionContext) -> str:
        """The cue of a request for a person: an admin phrase, the recogniser, a button."""
        text = ctx.message.text
        return (self.phrases.find(text) or (self.intent.find(text) if self.intent else "")
                or (ctx.message.callback_data
                    if ctx.message.callback_data in HANDOFF_BUTTONS else ""))

    # --- stages -----------------------------------------------------------------------
    def _quiet(self, turn: Turn) -> bool:
        """True when no bot may speak: a person has it, or we are talking to a bot."""
        conv = turn.ctx.conversation
        # A person has it: the bot stays out of the customer's messages. Replies the admin
        # wrote for other events (`conversation_idle`, `sla_breached`) still go out.
        human = conv.status in HUMAN_STATES and turn.ctx.event in ("message",
                                                                   "conversation_opened")
        if human or turn.state.loop:
            if turn.rules_replied:
                turn.note("quiet", reason=f"conversation is {conv.status}: bot replies dropped")
            turn.drop_rule_replies = True
            if human and not turn.state.loop and turn.ctx.event == "message":
                self._acknowledge_request(turn)
            return True
        lg = self.settings.loop_guard
        if lg.enabled:
            similarity = self.echo.match(turn.ctx.message.text, also=[turn.state.last_reply])
            if similarity:
                turn.note("loop_guard", similarity=similarity,
                          reason="the message is one of our own bot texts: another bot?")
                turn.drop_rule_replies = True
                turn.meta[keys.LOOP] = True
                self._handoff(turn, "loop_suspected", tell=False)
                return True
        return False

    def _on_message(self, turn: Turn) -> None:
        ctx, h = turn.ctx, self.settings.handoff
        if turn.rules_did("handoff"):
            return self._handoff(turn, "rule", tell=not turn.rules_replied)
        phrase = self.handoff_request(ctx)
        if phrase:
            turn.note("handoff_phrase", phrase=phrase)
            turn.drop_rule_replies = True
            return self._handoff(turn, "customer_request", tell=True)
        if ctx.conversation.bot_turns >= h.max_bot_turns:
            turn.note("turn_limit", bot_turns=ctx.conversation.bot_turns, limit=h.max_bot_turns)
            turn.drop_rule_replies = True
            return self._handoff(turn, "turn_limit", tell=True)
        if turn.rules_replied:
            turn.meta.update({keys.FAILURES: 0, keys.SUGGESTED: []})
            return None
        if turn.rules_did("route", "assign", "resolve"):
            self._maybe_away(turn)
            return None
        return self._faq(turn)

    def _faq(self, turn: Turn) -> None:
        ctx, state, s = turn.ctx, turn.state, self.faq.settings
        chosen = faq_choice(ctx, state) or article_choice(ctx)
        if chosen in self.faq.entries:
            turn.note("faq_choice", entry=chosen)
            return self._answer(turn, chosen, turn.language)
        if chosen and answer_article(self, turn, chosen):
            turn.note("kb_choice", entry=chosen)
            return None
        candidates = self.faq.match(ctx.message.text, limit=s.max_suggestions + 1,
                                    language=turn.language)
        view = candidates_view(candidates, s.answer_at, s.suggest_at, s.margin,
                               problem_word(ctx.message.text))
        turn.note("faq", candidates=view[:3])
        if view and view[0]["verdict"] == "answer":
            return self._answer(turn, candidates[0].entry_id, self._answer_language(turn, candidates[0]))
        articles = article_view(self, turn, view)  # issue 27: none without an import
        if articles and articles[0]["verdict"] == "answer":
            answer_article(self, turn, articles[0]["entry"])
            return None
        failures = state.failures + 1
        turn.meta[keys.FAILURES] = failures
        if failures >= self.settings.handoff.max_failures:
            turn.note("failures", count=failures)
            return self._handoff(turn, "failures", tell=True)
        suggest = [c.entry_id for c, v in zip(candidates, view, strict=True)
                   if v["verdict"] != "below"]
        suggest += [a["entry"] for a in articles if a["verdict"] == "suggest"]
        if suggest:
            return self._suggest(turn, suggest[:s.max_suggestions])
        if self._closed(turn):
            # closed: "a person answers at 08:00" (once), then quietly into the queue
            if not self._maybe_away(turn):
                self._handoff(turn, "away", tell=False)
            return None
        f = self.settings.fallback
        if f.enabled:
            reply_id = f.reply if failures == 1 else f.reply_again
            turn.reply(self.replies.render(reply_id, turn.language, ctx), "fallback")
        return None

    def _answer_language(self, turn: Turn, best: Any) -> str:
        """The customer's language if the entry was asked about in it, else the variant's."""
        if turn.ctx.conversation.language or turn.ctx.contact.language:
            return turn.language
        score = self.faq.score_in_language(turn.ctx.message.text, best.entry_id, turn.language)
        return turn.language if score >= best.score - 2 else best.language

    def _answer(self, turn: Turn, entry_id: str, language: str) -> None:
        entry = self.faq.entries[entry_id]
        lang, text = pick(entry.answers, language, self.default_language)
        if entry.link:
            text = f"{text}\n{entry.link}"
        turn.reply(ReplyContent(text, reply_id=f"faq:{entry_id}", language=lang), "faq")
        turn.meta.update({keys.FAILURES: 0, keys.SUGGESTED: []})

    def _suggest(self, turn: Turn, entry_ids: list[str]) -> None:
        titles = []
        for entry_id in entry_ids:
            label = suggestion_label(self, entry_id)  # an article's section (issue 27)
            if label is not None:
                titles.append(label)
                continue
            entry = self.faq.entries[entry_id]
            questions = {k: v[0] for k, v in entry.questions.items() if v}
            titles.append(pick(entry.title or questions, turn.language, self.default_language)[1])
        base = self.replies.render("faq_suggest", turn.language, turn.ctx)
        lines = "\n".join(f"{i}. {t}" for i, t in enumerate(titles, 1))
        quick = tuple(QuickReply(t[:60], e if e.startswith("kb:") else f"faq:{e}")
                      for t, e in zip(titles, entry_ids, strict=True))
        turn.reply(ReplyContent(f"{base.text}\n{lines}", quick_replies=quick,
                                reply_id="faq_suggest", language=base.language), "faq")
        turn.meta[keys.SUGGESTED] = entry_ids

    # --- hand-off and hours -------------------------------------------------------------
    def _acknowledge_request(self, turn: Turn) -> None:
        """A person already has the conversation, and the customer asks for one: say so.

        Never silence: the customer hears, in their language, that they are in the queue
        (with the wait, from opening time when closed) or that the assigned agent has been
        told; the agent sees a `customer_asked_for_human` event and the conversation's
        `wants_human` mark. Nothing else changes: no new queue, no lower priority.
        """
        cue = self.handoff_request(turn.ctx)
        if not cue:
            return
        conv = turn.ctx.conversation
        turn.note("handoff_phrase", phrase=cue, status=str(conv.status))
        turn.add("record", {"kind": "customer_asked_for_human", "cue": cue,
                            "status": str(conv.status)}, "handoff")
        turn.meta[keys.WANTS_HUMAN] = stamp(turn.ctx.now)
        if conv.status == Status.ASSIGNED and conv.assignee:
            name = self.agent_names.get(conv.assignee, conv.assignee)
            reply = self.replies.render("handoff_assigned", turn.language, turn.ctx,
                                        {"agent": name})
        else:
            reply = self._wait_reply(turn, "handoff_queued", "handoff_queued_wait",
                                     conv.queue or self.default_queue)
        turn.reply(reply, "handoff")

    def _wait_reply(self, turn: Turn, plain_id: str, wait_id: str, queue: str) -> ReplyContent:
        """`wait_id` with {wait} (or `plain_id` when the queue has no SLA); out of hours
        `handoff_closed` names the next opening and counts the wait from it: never
        "within 1 h" while nobody is there."""
        wait = (self.queue_waits or {}).get(queue)
        values = {"wait": format_wait(wait, turn.language) if wait is not None else ""}
        if self._closed(turn) and self.settings.away.enabled:
            values["next_opening"] = self._next_opening(turn)[1]
            turn.meta[keys.AWAY_SENT] = stamp(turn.ctx.now)
            closed_id = "handoff_closed" if wait is not None else "handoff_closed_plain"
            reply = self.replies.render(closed_id, turn.language, turn.ctx, values)
            # it says when we open: the away text would repeat it
            return replace(reply, covers=(*reply.covers, self.settings.away.reply, "away"))
        return self.replies.render(wait_id if wait is not None else plain_id, turn.language,
                                   turn.ctx, values)

    def _handoff(self, turn: Turn, reason: str, *, tell: bool) -> None:
        h = self.settings.handoff
        if not turn.rules_did("handoff"):
            turn.add("handoff", {"queue": h.queue or None, "reason": reason}, "handoff")
        turn.meta[keys.HANDOFF] = reason
        if not tell:
            return
        reply = self._wait_reply(turn, h.reply, h.reply_with_wait,
                                 turn.queue(h.queue or self.default_queue))
        turn.reply(reply, "handoff")

    def _closed(self, turn: Turn) -> bool:
        return self.hours is not None and not self.hours.is_open(turn.ctx.now)

    def _away_sent(self, turn: Turn) -> bool:
        away = self.settings.away.reply
        return turn.state.away_sent or keys.AWAY_SENT in turn.meta or any(
            a.kind == "reply" and getattr(a.value, "reply_id", "") == away
            for a in turn.rules_actions)

    def _maybe_away(self, turn: Turn) -> bool:
        """Outside opening hours, tell the customer once when a person will answer."""
        if not self.settings.away.enabled or not self._closed(turn) or self._away_sent(turn):
            return False
        now = turn.ctx.now
        nxt, when = self._next_opening(turn)
        turn.reply(self.replies.render(self.settings.away.reply, turn.language, turn.ctx,
                                       {"next_opening": when}), "away")
        turn.meta[keys.AWAY_SENT] = stamp(now)
        turn.note("away", next_opening=nxt.isoformat() if nxt else None)
        # the away reply answers the customer, but a person must still pick the case up
        if (turn.ctx.conversation.status == Status.BOT and not turn.rules_did("route", "handoff")
                and not any(a.kind == "handoff" for a in turn.added)):
            turn.add("handoff", {"queue": self.settings.handoff.queue or None,
                                 "reason": "away"}, "away")
        return True

    def _next_opening(self, turn: Turn) -> tuple[Any, str]:
        """The next opening and how the customer reads it (their language and time zone)."""
        assert self.hours is not None
        nxt = self.hours.next_opening(turn.ctx.now)
        return nxt, format_opening(nxt, turn.language, self._customer_tz(turn)) if nxt else ""

    def _customer_tz(self, turn: Turn) -> ZoneInfo:
        name = turn.ctx.contact.fields.get("timezone") if turn.ctx.contact.fields else None
        if name:
            try:
                return ZoneInfo(str(name))
            except (ZoneInfoNotFoundError, ValueError):
                pass
        return self.timezone

    def _guard_replies(self, turn: Turn) -> None:
        r = self.settings.rate_limit
        if guard_replies(turn, max_replies=r.max_replies, window=r.per) == "repeated":
            # the customer would get the same text again: a person will do better
            reply = self.replies.render(self.settings.handoff.reply, turn.language, turn.ctx)
            if fold(reply.text) != fold(turn.state.last_reply):
                turn.reply(reply, "handoff")
                guard_replies(turn, max_replies=r.max_replies, window=r.per)

    def _on_resolved(self, turn: Turn) -> None:
        send_survey(self, turn)

    def _on_csat_press(self, turn: Turn) -> None:
        record_press(self, turn)
