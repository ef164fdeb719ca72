"""The FAQ bot answers what it knows, offers choices when unsure, and stays quiet otherwise."""

from __future__ import annotations

from collections import Counter

from router.domain.model import Decision
from tests.bots.faq_table import TABLE
from tests.bots.helpers import ctx, make_bots, meta, replies

MIN_PRECISION = 0.95
MIN_RECALL = 0.6


def test_table_covers_five_languages_and_forty_questions():
    assert len(TABLE) >= 40
    by_lang = Counter(lang for lang, _, _ in TABLE)
    assert set(by_lang) == {"sv", "fi", "nb", "uk", "en"}
    assert all(n >= 8 for n in by_lang.values())


def test_precision_of_automatic_answers_on_the_table(tmp_path):
    bots = make_bots(tmp_path)
    answered, correct, answerable, found = 0, 0, 0, 0
    wrong = []
    for lang, question, expected in TABLE:
        decision = bots.decide(ctx(question, language=lang), Decision())
        faq = [r for r in replies(decision) if r.reply_id.startswith("faq:")]
        answerable += expected is not None
        if faq:
            answered += 1
            entry = faq[0].reply_id.removeprefix("faq:")
            correct += entry == expected
            found += entry == expected
            if entry != expected:
                wrong.append((question, expected, entry))
    precision = correct / answered
    print(f"FAQ: {answered} automatic answers, precision {precision:.1%}, "
          f"recall {found}/{answerable}")
    assert precision >= MIN_PRECISION, wrong
    assert found / answerable >= MIN_RECALL


def test_answer_is_in_the_customers_language(tmp_path):
    bots = make_bots(tmp_path)
    d = bots.decide(ctx("Hvor finner jeg fakturaen min?"), Decision())
    assert replies(d)[0].language == "nb" and "Min konto" in replies(d)[0].text
    d = bots.decide(ctx("where is my invoice", language="fi"), Decision())
    assert replies(d)[0].language == "fi"


def test_between_thresholds_offers_buttons_and_a_pick_answers(tmp_path):
    bots = make_bots(tmp_path)
    d = bots.decide(ctx("paketet och fakturan"), Decision())  # two entries tie
    [suggest] = replies(d)
    assert suggest.reply_id == "faq_suggest"
    assert [q.payload for q in suggest.quick_replies][:2] == ["faq:invoice_copy", "faq:order_status"]
    assert "1. " in suggest.text and "2. " in suggest.text  # for channels without buttons
    state = meta(d)
    assert state["bots.suggested"][:2] == ["invoice_copy", "order_status"]
    assert state["bots.failures"] == 1
    picked = bots.decide(ctx("", callback="faq:invoice_copy", metadata=state), Decision())
    assert replies(picked)[0].reply_id == "faq:invoice_copy"
    typed = bots.decide(ctx("2", metadata=state), Decision())
    assert replies(typed)[0].reply_id == "faq:order_status"
    assert meta(typed)["bots.failures"] == 0


def test_explain_lists_candidates_with_scores(tmp_path):
    bots = make_bots(tmp_path)
    rows = bots.explain(ctx("glemt passord"))
    assert rows[0]["entry"] == "reset_password" and rows[0]["verdict"] == "answer"
    assert all({"entry", "score", "language", "question", "verdict"} <= set(r) for r in rows)
    assert bots.explain(ctx("I want a human"))[0]["verdict"] == "handoff"


def test_rules_reply_wins_over_the_faq(tmp_path):
    from router.domain.model import Action, ReplyContent

    bots = make_bots(tmp_path)
    rules = Decision(actions=[Action("reply", ReplyContent("rule says hi", reply_id="password"),
                                     source="password help")])
    d = bots.decide(ctx("jag har glömt lösenordet"), rules)
    assert [r.text for r in replies(d)] == ["rule says hi"]
