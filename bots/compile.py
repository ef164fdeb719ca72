"""`compile_bots`: validate the `faq:` and `bots:` keys once and build the `Bots` stage.

Every problem is reported at once, located at file:line:column, like the rest of the
configuration: a broken knowledge base must fail `inquiry-router check`, not a customer.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ValidationError

from bots.articles import ArticleIndex, sections_from
from bots.faq import FaqIndex
from bots.guards import EchoDetector
from bots.handoff import HandoffPhrases
from bots.intent import HandoffIntent
from bots.replies import Replies
from bots.schema import BotsSettings, FaqSettings, faq_input
from bots.stage import Bots
from bots.texts import BUILTIN
from router.configuration.durations import parse_duration
from router.configuration.validation import located_problems
from router.configuration.yamlsrc import Source
from router.domain.errors import Problem, RuleError


def _validate(source: Source, key: str, raw: Any, model: type[BaseModel],
              problems: list[Problem]) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems.extend(located_problems(source, exc, (key,), model))
        return model()


def compile_bots(source: Source, *, ruleset: Any = None, default_queue: str = "general",
                 public_url: str | None = None, csat_key: Callable[[], str] | None = None,
                 articles: Sequence[Mapping[str, Any]] = ()) -> Bots:
    """Build the bot stage from `source`. Raises RuleError listing every problem found.

    `ruleset` (optional) supplies opening hours (`is_open`, `next_opening`) and replies
    defined under `replies:` (`render_reply`); without it there is no away reply.
    `csat_key` gives the CSAT signing key when `bots.csat.secret` is not set; it is only
    called when a survey is signed or a rating checked. Without it the key is a throwaway
    one for this process (router/wiring.py passes the service's, kept in the data dir).
    `articles` are the sections of imported help-centre articles (router/engine/kb), searched
    when no FAQ entry answers (bots/articles.py).
    """
    data = source.data
    problems: list[Problem] = []
    raw_faq = faq_input(data.get("faq"))
    faq: FaqSettings = _validate(source, "faq", raw_faq, FaqSettings, problems)
    settings: BotsSettings = _validate(source, "bots", data.get("bots") or {}, BotsSettings, problems)
    entries_path = ("faq",) if isinstance(data.get("faq"), list) else ("faq", "entries")
    problems.extend(_check_faq(source, faq, entries_path, _languages(data)))
    default_language = (settings.default_language or str(data.get("default_language") or "")
                        or "en")
    replies = Replies(settings.replies, ruleset, default_language)
    problems.extend(_check_references(source, settings, replies, set(data.get("queues") or {})))
    if problems:
        raise RuleError(sorted(problems, key=lambda p: (p.file, p.line, p.column)))
    own_texts = [t for texts in (*BUILTIN.values(), *settings.replies.values())
                 for t in texts.values()]
    own_texts += [a for e in faq.entries for a in e.answers.values()]
    service = data.get("service") or {}
    index = (ArticleIndex(sections_from(articles), synonyms=faq.synonyms,
                          default_language=default_language)
             if articles and faq.articles.enabled else None)
    return Bots(
        settings=settings, faq=FaqIndex(faq, default_language),
        # the built-in recogniser understands requests; the admin's phrases match as written
        phrases=HandoffPhrases.build(settings.handoff.phrases, builtin=False),
        intent=HandoffIntent() if settings.handoff.builtin_phrases else None,
        replies=replies, echo=EchoDetector(own_texts, settings.loop_guard.echo_similarity),
        default_queue=default_queue, default_language=default_language,
        hours=ruleset if callable(getattr(ruleset, "is_open", None)) else None,
        timezone=_timezone(data, ruleset), queue_waits=_queue_waits(data),
        agent_names=_agent_names(data), articles=index,
        public_url=public_url if public_url is not None else str(service.get("public_url") or ""),
        **({"csat_key": csat_key} if csat_key is not None else {}),
    )


def _languages(data: dict[str, Any]) -> set[str]:
    langs = data.get("languages")
    return {str(x) for x in langs} if isinstance(langs, list) else set()


def _check_faq(source: Source, faq: FaqSettings, path: tuple[str, ...],
               languages: set[str]) -> list[Problem]:
    problems, seen = [], set()
    for i, entry in enumerate(faq.entries):
        if entry.id in seen:
            problems.append(source.problem((*path, i, "id"), f"duplicate FAQ entry id '{entry.id}'",
                                           "every entry needs its own id"))
        seen.add(entry.id)
        if not languages:
            continue
        for field in ("questions", "answers"):
            for lang in getattr(entry, field):
                if lang not in languages:
                    problems.append(source.problem(
                        (*path, i, field, lang), f"faq entry '{entry.id}': language '{lang}' is "
                        f"not in languages: {sorted(languages)}", "add it to languages: or fix it"))
    return problems


def _check_references(source: Source, s: BotsSettings, replies: Replies,
                      queues: set[str]) -> list[Problem]:
    problems = []
    refs = {("handoff", "reply"): s.handoff.reply, ("handoff", "reply_with_wait"): s.handoff.reply_with_wait,
            ("fallback", "reply"): s.fallback.reply, ("fallback", "reply_again"): s.fallback.reply_again,
            ("away", "reply"): s.away.reply,
            ("csat", "reply"): s.csat.reply, ("csat", "email_reply"): s.csat.email_reply,
            ("csat", "thanks"): s.csat.thanks}
    for (section, key), reply_id in refs.items():
        if not replies.known(reply_id):
            close = difflib.get_close_matches(reply_id, [*BUILTIN, *s.replies], n=1)
            problems.append(source.problem(
                ("bots", section, key), f"bots.{section}.{key}: unknown reply '{reply_id}'",
                f"did you mean '{close[0]}'?" if close else "define it under bots.replies"))
    if s.handoff.queue and queues and s.handoff.queue not in queues:
        problems.append(source.problem(("bots", "handoff", "queue"),
                                       f"bots.handoff.queue: unknown queue '{s.handoff.queue}'",
                                       f"pick one of {', '.join(sorted(queues))}"))
    return problems


def _timezone(data: dict[str, Any], ruleset: Any) -> ZoneInfo:
    """Where opening times are shown for customers whose own timezone is unknown."""
    hours = data.get("business_hours")
    name = hours.get("timezone") if isinstance(hours, dict) else None
    own = getattr(ruleset, "tz", None)
    if not name and isinstance(own, ZoneInfo):
        return own
    try:
        return ZoneInfo(str(name)) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")  # the rules report the bad timezone, located


def _agent_names(data: dict[str, Any]) -> dict[str, str]:
    """Agent id -> display name, for "Alice has been told you want a person"."""
    agents = data.get("agents") or {}
    if not isinstance(agents, dict):
        return {}
    return {str(k): str((v or {}).get("name") or k) if isinstance(v, dict) else str(k)
            for k, v in agents.items()}


def _queue_waits(data: dict[str, Any]) -> dict[str, timedelta]:
    """Expected wait per queue: its first-response SLA, when one is set."""
    out = {}
    for name, queue in (data.get("queues") or {}).items():
        sla = (queue or {}).get("sla") if isinstance(queue, dict) else None
        first = sla.get("first_response") if isinstance(sla, dict) else None
        if first:
            try:
                out[str(name)] = parse_duration(first)
            except ValueError:
                continue
    return out
