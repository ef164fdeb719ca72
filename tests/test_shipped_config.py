"""The shipped config.yaml is a working example: it validates and answers sensibly."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from router.config import load_config
from router.wiring import build_decide
from tests.rules.helpers import ctx

ROOT = Path(__file__).resolve().parent.parent
SATURDAY_NIGHT = datetime(2026, 11, 28, 21, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def decide():
    return build_decide(load_config(ROOT / "config.yaml", env={}))


@pytest.mark.parametrize(("text", "language", "words"), [
    ("Hej! Jag har en fråga om min beställning", "sv", "Vi har stängt"),
    ("Hei! Minulla on kysymys tilauksestani", "fi", "Olemme nyt suljettu"),
    ("Hei! Jeg har et spørsmål om bestillingen min", "nb", "Vi har stengt"),
    ("Добрий день! У мене питання щодо замовлення", "uk", "Зараз ми не працюємо"),
])
def test_the_first_message_after_hours_gets_the_away_reply_in_its_language(
        decide, text, language, words):
    decision = decide(ctx(text, event="conversation_opened", now=SATURDAY_NIGHT,
                          message_count=1, is_new=True))
    replies = [a.value for a in decision.actions if a.kind == "reply"]
    assert replies and replies[0].language == language and words in replies[0].text
