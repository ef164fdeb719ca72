"""Imported help-centre articles in the FAQ bot: answered, suggested, picked, in language."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from bots import compile_bots
from router.configuration import yamlsrc
from tests.bots.helpers import FAQ_FILE, ctx, meta, replies

SECTIONS: list[dict[str, Any]] = [
    {"id": "s1", "article": "a1", "title": "Byta leveransadress", "heading": "",
     "text": "Du byter leveransadress under Mina sidor, Adresser, innan ordern har skickats.",
     "language": "sv", "url": "https://hjalp.example.se/adress"},
    {"id": "s2", "article": "a2", "title": "Presentkort", "heading": "Lösa in ett presentkort",
     "text": "Skriv presentkortets kod i kassan under Rabattkod och tryck Använd.",
     "language": "sv", "url": "https://hjalp.example.se/presentkort#losa-in"},
    {"id": "s3", "article": "a3", "title": "Gift cards", "heading": "Redeem a gift card",
     "text": "Type the gift card code at checkout under Discount code and press Apply.",
     "language": "en", "url": "https://help.example.com/gift-cards#redeem"},
    {"id": "s4", "article": "a4", "title": "Returns", "heading": "Return label",
     "text": "Print the return label from your order page and attach it to the parcel.",
     "language": "en", "url": "https://help.example.com/returns#label"},
    {"id": "s5", "article": "a5", "title": "Returns abroad", "heading": "Return from abroad",
     "text": "From abroad, send the parcel with any courier to our warehouse address.",
     "language": "en", "url": ""},
]


def make(tmp_path: Path, extra: str = "", *, with_faq: bool = False,
         sections: list[dict[str, Any]] | None = None) -> Any:
    path = tmp_path / "config.yaml"
    text = textwrap.dedent(extra)
    if with_faq:
        text += f"\ninclude: ['{FAQ_FILE}']\n"
    path.write_text(text or "{}\n", encoding="utf-8")
    return compile_bots(yamlsrc.load(path, {}), default_queue="general",
                        articles=SECTIONS if sections is None else sections)


def decide(bots: Any, text: str, **kw: Any) -> Any:
    return bots.decide(ctx(text, **kw), rules_decision(kw.get("language", "")))


def rules_decision(language: str) -> Any:
    from router.domain.model import Decision

    return Decision(language=language)


def test_a_strong_match_is_answered_with_the_section_and_its_link(tmp_path: Path):
    bots = make(tmp_path)
    decision = decide(bots, "Hur löser jag in ett presentkort?", language="sv")
    (reply,) = replies(decision)
    assert reply.reply_id == "kb:s2" and reply.language == "sv"
    assert reply.text.splitlines() == [
        "Presentkort: Lösa in ett presentkort",
        "Skriv presentkortets kod i kassan under Rabattkod och tryck Använd.",
        "https://hjalp.example.se/presentkort#losa-in"]
    assert meta(decision)["bots.failures"] == 0
    # the same question in English gets the English article
    (reply,) = replies(decide(bots, "How do I redeem a gift card?", language="en"))
    assert reply.reply_id == "kb:s3"


def test_close_articles_are_suggested_and_picked_by_number_or_button(tmp_path: Path):
    bots = make(tmp_path)
    decision = decide(bots, "How do I return a parcel?", language="en")
    (reply,) = replies(decision)
    assert reply.reply_id == "faq_suggest"  # two articles rank close: no answer alone
    payloads = [q.payload for q in reply.quick_replies]
    assert sorted(payloads) == ["kb:s4", "kb:s5"]
    assert "1. Returns" in reply.text
    suggested = meta(decision)["bots.suggested"]
    assert suggested == payloads
    picked = decide(bots, "2", language="en", metadata={"bots.suggested": suggested})
    (answer,) = replies(picked)
    assert answer.reply_id == suggested[1]
    pressed = decide(bots, "Returns: Return label", language="en", callback="kb:s4")
    assert [r.reply_id for r in replies(pressed)] == ["kb:s4"]
    trace = [s for s in pressed.trace if s.get("step") == "kb_choice"]
    assert trace == [{"stage": "bots", "step": "kb_choice", "entry": "kb:s4"}]


def test_a_button_for_a_section_removed_by_a_reimport_is_read_as_text(tmp_path: Path):
    bots = make(tmp_path, sections=SECTIONS[2:])
    decision = decide(bots, "Byta leveransadress", language="sv", callback="kb:s1")
    assert all(r.reply_id != "kb:s1" for r in replies(decision))


def test_a_problem_report_is_only_suggested(tmp_path: Path):
    bots = make(tmp_path)
    decision = decide(bots, "My gift card code was declined at checkout", language="en")
    (reply,) = replies(decision)
    assert reply.reply_id == "faq_suggest"
    view = next(s for s in decision.trace if s.get("step") == "kb")["candidates"]
    assert view[0]["entry"] == "kb:s3" and "reports a problem" in view[0]["why"]


def test_an_article_in_another_language_is_only_suggested(tmp_path: Path):
    bots = make(tmp_path, sections=[SECTIONS[2]])
    decision = decide(bots, "redeem gift card", language="sv")
    (reply,) = replies(decision)
    assert reply.reply_id == "faq_suggest" and reply.quick_replies[0].payload == "kb:s3"


def test_the_faq_comes_first_and_articles_do_not_change_its_answers(tmp_path: Path):
    plain = make(tmp_path, with_faq=True, sections=[])
    with_kb = make(tmp_path, with_faq=True)
    for text, lang in (("Jag har glömt mitt lösenord", "sv"), ("När har ni öppet?", "sv"),
                       ("Where is my parcel?", "en"), ("How do I return an item?", "en")):
        before = [(r.reply_id, r.text) for r in replies(decide(plain, text, language=lang))]
        after = [(r.reply_id, r.text) for r in replies(decide(with_kb, text, language=lang))]
        if before and before[0][0].startswith("faq:"):
            assert after == before, text
    # a question the FAQ only half knows is not answered by an article alone either
    decision = decide(with_kb, "Hur byter jag leveransadress?", language="sv")
    assert not any(r.reply_id.startswith("kb:") for r in replies(decision))


def test_articles_can_be_turned_off(tmp_path: Path):
    bots = make(tmp_path, "faq: {articles: {enabled: false}}\n")
    assert bots.articles is None
    assert not any(r.reply_id.startswith("kb:") for r in replies(
        decide(bots, "How do I redeem a gift card?", language="en")))


def test_explain_lists_article_candidates_after_the_faqs(tmp_path: Path):
    bots = make(tmp_path, with_faq=True)
    out = bots.explain(ctx("How do I redeem a gift card?"), "en")
    kb = [c for c in out if c["entry"].startswith("kb:")]
    assert kb[0]["entry"] == "kb:s3" and kb[0]["url"].endswith("#redeem")
    assert {"article", "section", "score", "rank", "verdict"} <= kb[0].keys()


# --- ranking by meaning (bots/meaning.py): English sections, the packaged model ---

MEANING_SECTIONS: list[dict[str, Any]] = [
    {"id": "m1", "article": "star", "title": "Star a message", "heading": "",
     "text": "Starring a message keeps it in the Starred messages view, so that you can "
             "come back to it later. Hover over the message and click the star icon.",
     "language": "en", "url": ""},
    {"id": "m2", "article": "theme", "title": "Dark theme", "heading": "Manage color theme",
     "text": "Pick the light or the dark theme in Settings, Preferences, Theme.",
     "language": "en", "url": ""},
    {"id": "m3", "article": "deactivate", "title": "Deactivate your account", "heading": "",
     "text": "Deactivating your account signs you out and removes you from every channel. "
             "An administrator can reactivate it later.",
     "language": "en", "url": ""},
]


def test_the_packaged_sentence_model_loads_without_a_network():
    from bots.meaning import embedder

    model = embedder()
    assert model is not None
    vectors = model.embed(["bookmark a message", "star a message", "night colours"])
    assert vectors.shape == (3, 256)
    similar, unrelated = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert similar > unrelated


def test_a_paraphrase_is_answered_by_meaning_where_words_rank_another_first(tmp_path: Path):
    from bots.articles import ArticleIndex, sections_from

    text = "Can I flag important messages so I find them again later?"
    words = ArticleIndex(sections_from(MEANING_SECTIONS), synonyms={}, default_language="en",
                         meaning=False)
    assert words.match(text, "en")[0].section.id == "m2"  # "messages" is in its text
    bots = make(tmp_path, sections=MEANING_SECTIONS)
    assert bots.articles.by_meaning
    decision = decide(bots, text, language="en")
    assert [r.reply_id for r in replies(decision)] == ["kb:m1"]
    (best, *_) = next(s for s in decision.trace if s.get("step") == "kb")["candidates"]
    assert best["entry"] == "kb:m1" and best["verdict"] == "answer"


def test_a_paraphrase_without_a_shared_word_is_found_by_meaning_alone():
    from bots.articles import ArticleIndex, sections_from

    text = "I want to shut down my profile permanently"
    words = ArticleIndex(sections_from(MEANING_SECTIONS), synonyms={}, default_language="en",
                         meaning=False)
    assert not words.by_meaning
    assert words.match(text, "en") == []
    meaning = ArticleIndex(sections_from(MEANING_SECTIONS), synonyms={},
                           default_language="en")
    (best, runner_up, *_) = meaning.match(text, "en")
    assert best.section.id == "m3" and best.similarity is not None
    assert best.score == round(100 * best.similarity, 1) and best.rank > runner_up.rank


def test_sections_the_model_does_not_cover_are_matched_by_their_words(tmp_path: Path):
    bots = make(tmp_path, sections=SECTIONS[:2])  # Swedish only
    assert not bots.articles.by_meaning
    view = bots.articles.match("Hur löser jag in ett presentkort?", "sv")
    assert view[0].section.id == "s2" and view[0].similarity is None


def test_the_explanation_shows_the_similarity(tmp_path: Path):
    bots = make(tmp_path, sections=MEANING_SECTIONS)
    out = bots.explain(ctx("How can I make the screen darker at night?"), "en")
    kb = [c for c in out if c["entry"].startswith("kb:")]
    assert kb[0]["entry"] == "kb:m2"
    assert kb[0]["score"] == round(100 * kb[0]["similarity"], 1)


def test_the_message_is_embedded_without_its_stop_words_and_sections_by_paragraph():
    from bots.meaning import passages, query_text

    assert query_text("How do I star a message?") == "star message"
    assert query_text("how do I") == "how do I"  # nothing else left: all of it
    assert passages("Dark theme", "Manage", "Pick a theme in Settings.\nOk.") == [
        "Dark theme. Manage. Pick a theme in Settings.\nOk.",
        "Dark theme. Manage. Pick a theme in Settings."]


def test_the_words_best_article_is_offered_even_when_meaning_ranks_it_low():
    from bots.articles import ArticleIndex, sections_from

    text = "Can I come back to a parcel later?"  # "come back ... later" is m1's
    index = ArticleIndex(sections_from(MEANING_SECTIONS + SECTIONS[2:]), synonyms={},
                         default_language="en")
    ranked = index.match(text, "en", limit=10)
    assert [c.section.id for c in ranked[:3]] == ["s4", "s5", "m1"]  # parcels by meaning
    assert ranked[2].word_lead > 1.0 and ranked[2].word_score > 0  # m1 first by words
    assert all(c.word_lead == 0.0 for c in ranked if c.section.id != "m1")
    cut = index.match(text, "en", limit=2)  # m1 is below the cut by meaning...
    assert [c.section.id for c in cut] == ["s4", "s5", "m1"]  # ...and added after it
    assert [c.section.id for c in index.match(text, "en", limit=1)] == ["s4"]  # runner-up kept


def _candidate(sid: str, similarity: float, *, word_lead: float = 0.0,
               word_score: float = 0.0) -> Any:
    import math

    from bots.articles import TEMPERATURE, Candidate, Section

    section = Section(id=sid, article=sid, title=sid, heading="", text="", language="en",
                      url="")
    return Candidate(section, 100 * similarity, math.exp(similarity / TEMPERATURE), 0.0, 0.0,
                     similarity, word_lead=word_lead, word_score=word_score)


def test_the_words_best_is_suggested_second_when_its_word_score_reaches_suggest_at():
    from bots.articles import candidates_view

    def view(word_score: float) -> list[tuple[str, str]]:
        ranked = [_candidate("a", 0.50), _candidate("b", 0.48), _candidate("c", 0.46),
                  _candidate("d", 0.20, word_lead=3.0, word_score=word_score)]
        out = candidates_view(ranked, answer_at=35, suggest_at=25, margin=4.5,
                              language="en")
        return [(v["entry"], v["verdict"]) for v in out]

    assert view(30) == [("kb:a", "suggest"), ("kb:d", "suggest"), ("kb:b", "suggest"),
                        ("kb:c", "suggest")]
    assert view(20) == [("kb:a", "suggest"), ("kb:b", "suggest"), ("kb:c", "suggest"),
                        ("kb:d", "below")]


def test_agreement_of_meaning_and_words_answers_alone_only_when_turned_on():
    from bots.articles import candidates_view

    def verdict(word_lead: float, word_score: float, **kw: float) -> str:
        ranked = [_candidate("a", 0.60, word_lead=word_lead, word_score=word_score),
                  _candidate("b", 0.55)]  # a lead of 0.05: far below the margin's 0.23
        out = candidates_view(ranked, answer_at=35, suggest_at=25, margin=4.5,
                              language="en", **kw)
        return str(out[0]["verdict"])

    assert verdict(2.0, 50) == "suggest"  # the shipped default: off
    assert verdict(2.0, 50, agree_margin=1.4, agree_at=40) == "answer"
    assert verdict(1.2, 50, agree_margin=1.4, agree_at=40) == "suggest"  # words too close
    assert verdict(2.0, 30, agree_margin=1.4, agree_at=40) == "suggest"  # too few words
