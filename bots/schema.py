"""The admin's `faq:` and `bots:` keys, validated once at start-up with pydantic.

Unknown keys are errors (extra="forbid"): a misspelt `max_failure` that silently does
nothing would leave a customer talking to a bot forever. See docs/bots.md for the reference.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from router.configuration.durations import Duration

LanguageTexts = dict[str, str]  # language code -> text
Percent = Annotated[float, Field(ge=0, le=100)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FaqEntry(Strict):
    """One knowledge-base entry: how customers ask, and what the bot answers."""

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    questions: dict[str, list[str]]
    answers: LanguageTexts
    title: LanguageTexts = {}  # button label for "Did you mean"; default: first question
    tags: list[str] = []
    link: str = ""
    # Words per language that say a message is about something this entry does not cover
    # ("shop" for the customer service's opening hours, "PostNord" for our phone number):
    # with one of them in the message the entry is only suggested, never answered alone.
    not_about: dict[str, list[str]] = {}

    @field_validator("questions")
    @classmethod
    def _some_questions(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        if not any(q.strip() for qs in value.values() for q in qs):
            raise ValueError("an entry needs at least one question, e.g. questions: {en: [...]}")
        return value

    @field_validator("answers")
    @classmethod
    def _some_answers(cls, value: LanguageTexts) -> LanguageTexts:
        if not any(a.strip() for a in value.values()):
            raise ValueError("an entry needs an answer in at least one language")
        return value


class ArticleSettings(Strict):
    """`faq.articles`: help-centre articles imported with `inquiry-router kb import`
    (bots/articles.py). On whenever something was imported; the thresholds are stricter
    than the FAQ's because an article is prose, not a question."""

    enabled: bool = True
    # chosen on the tuning parts of tests/kb/questions*.yaml (benchmarks/kb.py): what
    # separates a right answer from a near miss there is the lead over the runner-up;
    # `margin` is the smallest that answers alone with >= 95 % precision on both tuning
    # parts together (as the FAQ's thresholds are chosen): a wrong article sent to a
    # customer costs more than a suggestion. By meaning (English) the score is the
    # similarity x 100 and a rank ratio of 4.5 a lead of 0.23 in similarity
    # (bots/articles.py TEMPERATURE)
    answer_at: Percent = 35.0  # score (0-100) from which a section may be answered alone
    suggest_at: Percent = 25.0  # from here: offered under "Did you mean ...?"
    #: the best article's rank must be this many times the runner-up's to answer alone
    margin: float = Field(4.5, ge=1.0, le=10.0)
    # ...or, ranked by meaning, when the word ranking (BM25F) puts the same article first
    # with this lead over its runner-up and this word score (0-100). Off (0) by default:
    # 1.4 / 40, chosen on the tuning parts (no wrong answer added there), answered 2.5
    # times as many rightly on the test parts, but near misses too (docs/bots.md)
    agree_margin: float = Field(0.0, ge=0.0, le=10.0)
    agree_at: Percent = 40.0
    max_chars: int = Field(700, ge=100, le=4000)  # of a section's text in an answer

    @model_validator(mode="after")
    def _ordered(self) -> ArticleSettings:
        if self.suggest_at > self.answer_at:
            raise ValueError("suggest_at must not be above answer_at")
        return self


class FaqSettings(Strict):
    """`faq:` either a list of entries or this mapping."""

    answer_at: Percent = 72.0  # score (0-100) from which the bot answers by itself
    suggest_at: Percent = 45.0  # from here up to answer_at: "Did you mean ...?" buttons
    margin: Percent = 6.0  # the best must beat the runner-up by this much to answer alone
    max_suggestions: int = Field(3, ge=1, le=5)
    #: per language, groups of words customers use for the same thing ([invoice, receipt])
    synonyms: dict[str, list[list[str]]] = {}
    entries: list[FaqEntry] = []
    articles: ArticleSettings = ArticleSettings()  # issue 27: imported help-centre articles

    @model_validator(mode="after")
    def _ordered(self) -> FaqSettings:
        if self.suggest_at > self.answer_at:
            raise ValueError("suggest_at must not be above answer_at")
        return self


class HandoffSettings(Strict):
    phrases: dict[str, list[str]] = {}  # added to the built-in phrases per language
    builtin_phrases: bool = True
    max_failures: int = Field(2, ge=1)  # unanswered customer messages in a row
    max_bot_turns: int = Field(10, ge=1)  # bot replies per conversation
    queue: str = ""  # default: service.default_queue
    reply: str = "handoff"
    reply_with_wait: str = "handoff_wait"


class FallbackSettings(Strict):
    """What the bot says when it did not understand (each one counts as a failure)."""

    enabled: bool = True
    reply: str = "fallback"
    reply_again: str = "fallback_again"  # from the second miss in a row: never the same text


class AwaySettings(Strict):
    enabled: bool = True
    reply: str = "away"


class CsatSettings(Strict):
    """One survey per conversation on resolve, on by default.

    The signing key is `secret` when the admin sets one; else `CSAT_SECRET` from the
    environment, else `<data_dir>/csat.secret`, made once (router/configuration/local_secret.py).
    """

    enabled: bool = True
    reply: str = "csat_request"
    email_reply: str = "csat_request_email"
    thanks: str = "csat_thanks"
    expires: Duration = timedelta(days=7)
    secret: str = ""  # empty: the key kept in the data dir

    @field_validator("secret")
    @classmethod
    def _long_enough(cls, value: str) -> str:
        if value and len(value) < 16:  # the message never repeats the value
            raise ValueError("needs at least 16 characters to sign rating links and buttons; "
                             "or leave it out and a key is kept in data/csat.secret")
        return value


class RateLimitSettings(Strict):
    max_replies: int = Field(8, ge=1)  # bot replies to one contact ...
    per: Duration = timedelta(hours=1)  # ... within this window


class LoopGuardSettings(Strict):
    enabled: bool = True
    #: a customer message this similar (0-100) to one of our own bot texts is a bot talking
    echo_similarity: Percent = 88.0


class BotsSettings(Strict):
    default_language: str = ""  # default: the top-level default_language, else "en"
    handoff: HandoffSettings = HandoffSettings()
    fallback: FallbackSettings = FallbackSettings()
    away: AwaySettings = AwaySettings()
    csat: CsatSettings = CsatSettings()
    rate_limit: RateLimitSettings = RateLimitSettings()
    loop_guard: LoopGuardSettings = LoopGuardSettings()
    replies: dict[str, LanguageTexts] = {}  # override or add canned texts: id -> {lang: text}


def faq_input(raw: Any) -> Any:
    """`faq:` may be a bare list of entries; normalise to the mapping form."""
    if raw is None:
        return {}
    if isinstance(raw, list):
        return {"entries": raw}
    return raw
