"""FAQ suggestions: the evidence in real conversations, the filters, the ranking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from router.config import load_config
from router.engine.faq_kb import KnowledgeBase
from router.engine.faq_suggest import (
    AGENT,
    CHOICE,
    clean,
    collect,
    parse_since,
    personal,
    rank,
    suggest,
)
from router.store.sqlite import SqliteStore
from tests.router.faq_world import HANDOFF, INVOICE_SV, PAYMENT_SV, FaqWorld, faq_config


def _kb(tmp_path: Path) -> KnowledgeBase:
    return KnowledgeBase.from_data(load_config(tmp_path / "config.yaml").source.data)


async def _world(tmp_path: Path) -> tuple[FaqWorld, KnowledgeBase]:
    """A real SQLite file, the small knowledge base (tests/router/faq_world.py)."""
    store = SqliteStore(tmp_path / "router.db")
    await store.open()
    return FaqWorld.of(store, faq_config(tmp_path)), _kb(tmp_path)


async def test_agents_answers_and_did_you_mean_picks_become_suggestions(tmp_path: Path):
    world, kb = await _world(tmp_path)
    # an agent pasted the payment answer after the customer asked for a person
    await world.agent_answered("a", "Hej! Går det bra att betala med Swish när jag handlar "
                                    "hos er?", PAYMENT_SV)
    # "Did you mean": a button pressed, and an option number typed
    await world.picked("b", "min order och fakturan", "invoice_copy")
    await world.say("c", "jag hittar inte fakturan")
    await world.say("c", "1")
    # personal data never becomes a variant; a known question is not suggested again
    await world.agent_answered("d", "Min faktura har inte kommit, mejla mig på "
                                    "ulla@example.se", INVOICE_SV)
    await world.agent_answered("e", "var hittar jag min faktura", INVOICE_SV)
    found = await suggest(world.store, kb, world.now - timedelta(days=1))
    await world.store.close()

    got = {(s.entry, s.language, s.text, tuple(s.sources)) for s in found}
    assert got == {
        ("payment_methods", "sv", "Hej! Går det bra att betala med Swish när jag handlar hos "
                                  "er?", (AGENT,)),
        ("invoice_copy", "sv", "min order och fakturan", (CHOICE,)),
        ("invoice_copy", "sv", "jag hittar inte fakturan", (CHOICE,)),
    }
    assert all(s.count == 1 and s.conversations for s in found)
    assert not any("@" in s.text or s.text == HANDOFF for s in found)


async def test_ranked_by_how_often_seen_and_deduplicated(tmp_path: Path):
    world, kb = await _world(tmp_path)
    for thread, text in (("a", "Går det att betala med Swish?"),
                         ("b", "går det att betala med swish"),
                         ("c", "Tar ni kort och Swish?")):
        await world.agent_answered(thread, text, PAYMENT_SV)
    since = world.now - timedelta(days=1)
    evidence = await collect(world.store, kb, since)
    found = rank(evidence, kb)
    assert [(s.text, s.count) for s in found] == [("Går det att betala med Swish?", 2),
                                                  ("Tar ni kort och Swish?", 1)]
    assert found[0].conversations == sorted(found[0].conversations) and \
        len(found[0].conversations) == 2
    assert [s.text for s in rank(evidence, kb, min_count=2)] == ["Går det att betala med Swish?"]
    assert len(rank(evidence, kb, limit=1)) == 1
    # evidence older than --since does not count
    assert await collect(world.store, kb, world.now + timedelta(seconds=1)) == []
    await world.store.close()


async def test_evidence_for_two_entries_that_tie_proposes_nothing(tmp_path: Path):
    world, kb = await _world(tmp_path)
    await world.agent_answered("a", "Fakturan och betalningen då?", INVOICE_SV)
    await world.agent_answered("b", "Fakturan och betalningen då?", PAYMENT_SV)
    assert await suggest(world.store, kb, world.now - timedelta(days=1)) == []
    await world.store.close()


async def test_a_pick_of_something_not_offered_and_agents_small_talk_teach_nothing(tmp_path: Path):
    world, kb = await _world(tmp_path)
    # a stale button: the last "Did you mean" did not offer it (the bot answered instead)
    cid = await world.say("a", "Var hittar jag min faktura?")  # exact: answered
    await world.say("a", callback="faq:order_status")
    # an agent's reply that only shares a few words with an answer
    await world.say("b", "Hur loggar jag in på Mitt konto?")
    await world.say("b", HANDOFF)
    await world.answer(cid + 1, "Tack! Gå till Mitt konto, så hjälper vi dig.")
    assert await suggest(world.store, kb, world.now - timedelta(days=1)) == []
    await world.store.close()


async def test_a_request_for_a_person_is_no_question_even_when_a_rule_handed_it_over(
        tmp_path: Path):
    """A rule took the hand-off, so the bots noted no phrase: the rule's trace tells."""
    store = SqliteStore(tmp_path / "router.db")
    await store.open()
    config = load_config(faq_config(tmp_path, extra="""
        rules:
          - name: wants a person
            when: {text: {keywords: [människa]}}
            then: [{handoff: general}]
        """))
    world = FaqWorld(store, config)
    await world.agent_answered("a", "Tar ni Swish?", PAYMENT_SV)
    kb = KnowledgeBase.from_data(config.source.data)
    found = await suggest(store, kb, world.now - timedelta(days=1))
    assert [s.text for s in found] == ["Tar ni Swish?"]
    await store.close()


@pytest.mark.parametrize("text", [
    "mejla mig på ulla.svensson@example.se", "ring 070-123 45 67", "mitt nummer +46701234567",
    "order 123456 har inte kommit", "postnummer 11122", "se https://example.com/x",
    "www.example.com funkar inte", "personnummer 19800101-1234", "x" * 201, "??", "   ",
])
def test_personal_data_long_and_empty_texts_are_never_variants(text: str):
    assert clean(text) is None


@pytest.mark.parametrize("text", ["Går det att betala med Swish?", "Order 12 kom inte",
                                  "Коли ви працюєте?", "Can I pay in 2026?"])
def test_ordinary_questions_are_kept_on_one_line(text: str):
    assert not personal(text)
    assert clean(f"  {text}\n ") == text


def test_agent_replies_are_matched_against_the_answers(tmp_path: Path):
    faq_config(tmp_path)
    kb = _kb(tmp_path)
    assert kb.answer_match(f"Hej!\n\n{PAYMENT_SV}\n\nMvh Anna") == ("payment_methods", "sv")
    # typos and a trimmed end still count; other languages too
    assert kb.answer_match("Vi tar emot kort (Visa, Mastercard), Swish o faktura") == \
        ("payment_methods", "sv")
    assert kb.answer_match("Hi! We accept cards (Visa, Mastercard), Swish and invoice. /Anna") \
        == ("payment_methods", "en")
    for unrelated in ("Tack!", "Mitt konto", "Vi tar emot kort.", "Swish och faktura",
                      "Jag kollar och återkommer om fakturan."):
        assert kb.answer_match(unrelated) is None, unrelated


def test_since_takes_durations_days_and_times():
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    assert parse_since("90d", now) == now - timedelta(days=90)
    assert parse_since("2w", now) == now - timedelta(weeks=2)
    assert parse_since("2026-03-01", now) == datetime(2026, 3, 1, tzinfo=UTC)
    assert parse_since("2026-03-01T08:00:00+01:00", now) == datetime(2026, 3, 1, 7, tzinfo=UTC)
    with pytest.raises(ValueError, match="neither a duration"):
        parse_since("last week", now)


def test_languages_must_be_configured_or_the_entrys(tmp_path: Path):
    faq_config(tmp_path)
    kb = _kb(tmp_path)  # languages: [sv, en]
    assert kb.language_ok("payment_methods", "sv")  # no sv questions yet: a new list
    assert not kb.language_ok("payment_methods", "fi")
    assert not kb.language_ok("nope", "sv")
    free = KnowledgeBase.from_data({"faq": [{"id": "a", "questions": {"sv": ["x"]},
                                             "answers": {"en": "y"}}]})
    assert free.entries_path == ("faq",)
    assert free.language_ok("a", "sv") and free.language_ok("a", "en")
    assert not free.language_ok("a", "fi")
