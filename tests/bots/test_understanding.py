"""What the bot understands, measured on held-out messages through the shipped config.

The figures on the test part of tests/eval are published (docs/bots.md, `make bench`);
these tests keep the evaluation set honest (size, mix, fixed split) and hold the
published levels so a change that makes the bot understand less fails here. Where a goal
of issue 20 is not met yet, the floor is the level reached, and docs/bots.md says so.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from benchmarks import understanding as u
from bots.analyze import Analyzer
from bots.intent import HandoffIntent
from router.cli import main


@pytest.fixture(scope="module")
def decide():  # type: ignore[no-untyped-def]
    return u.load_decide()


def test_the_evaluation_set_is_large_mixed_and_split_by_hash():
    faq = u.faq_cases()
    assert len(faq) >= 300 and {c.language for c in faq} == set(u.LANGUAGES)
    assert sum(c.expect is None for c in faq) / len(faq) >= 0.30  # off-topic and near misses
    handoff = u.handoff_cases()
    assert len(handoff) >= 120
    assert 0.4 <= sum(c.request for c in handoff) / len(handoff) <= 0.6
    test = u.faq_cases("test")
    assert Counter(c.language for c in test).keys() == set(u.LANGUAGES)
    # the split is a function of the text alone: no one chose it
    assert all(u.split_of(c.text) == "test" for c in test)
    assert not {c.text for c in test} & {c.text for c in u.faq_cases("tune")}


def test_faq_on_the_test_part(decide):  # type: ignore[no-untyped-def]
    result = u.evaluate_faq(decide, u.faq_cases("test"))["by_language"]["all"]
    assert result["deflection"] >= 0.50  # goal met
    assert result["answered_or_suggested"] >= 0.80  # goal met
    assert result["precision"] >= 0.90  # goal 0.95: not met yet (docs/bots.md)


def test_handoff_on_the_test_part(decide):  # type: ignore[no-untyped-def]
    result = u.evaluate_handoff(decide, u.handoff_cases("test"))["by_language"]["all"]
    assert result["precision"] >= 0.95  # goal met
    assert result["recall"] >= 0.90  # goal met


def test_language_of_short_messages_on_the_test_part(decide):  # type: ignore[no-untyped-def]
    result = u.evaluate_language(decide, u.language_cases("test"))["by_language"]["all"]
    assert result["accuracy"] >= 0.98  # goal met


@pytest.mark.parametrize("text", [
    "Let me talk to your support staff", "Jag vill prata med kundtjänst direkt",
    "yhdistäkää minut asiakaspalveluun", "покличте когось живого", "humn agent plz",
    "Kan noen ringe meg tilbake?", "I don't want to chat with a bot",
    "Kan jeg bli overført til en supervisor?", "з'єднайте з оператором", "звʼяжіть мене з людиною",
    "Is there a real person I can write to?", "stäng av roboten", "Kan jag bli uppringd?",
    "Чи не могли б ви перевести мене на менеджера?", "talk to someone who knows invoices",
    "hand me over to customer service please", "Finnes det noen som kan se på dette for meg?",
    "Går det inte att få prata med en människa?", "Ottakaa minuun yhteyttä pian",
    "Can someone look at my order?", "I'd rather deal with a person",
    "my answers are wrong and you don't help. connect me to support", "тупий бот. оператор!!!",
    "Koppla mig vidare, tack.", "Eskalera det här ärendet.", "Hvem kan jeg snakke med om dette?",
    "Er det noen mennesker som jobber i dag?", "Voisko joku sun kollega jatkaa tätä?",
])
def test_requests_for_a_person(text: str):
    assert HandoffIntent().find(text)


@pytest.mark.parametrize("text", [
    "Your agent Sara was really helpful", "Someone stole the package",
    "Passar stolen en person som väger 120 kg?", "Can I call you?",
    "I talked to someone yesterday and they promised a refund",
    "I need a gift for a person who has everything", "Soitin teille eilen",
    "Min chef vill ha kvittot på mejl", "How do I contact customer service?",
    "Ble satt over til support i går, takk!", "Please pass on my thanks to Anna in support",
    "Менеджер обіцяв передзвонити, але вже неважливо",
    "Do you have open positions in customer support? I speak Finnish",
    "The courier called me this morning, no problem", "are you a bot or a real person?",
    "Ingen grunn til å ringe meg, det har ordnet seg", "Finns det någon rabatt för studenter?",
    "Är det här en automatisk chatt, eller skriver jag med en människa?",
    "Skicka mig fakturan igen", "Kan du bekräfta att kundtjänst har fått mitt mejl?",
    "Jag vill bara kolla status på ordern", "Vad är telefonnumret till kundtjänst?",
])
def test_mentions_of_people_that_are_not_requests(text: str):
    assert HandoffIntent().find(text) == ""


@pytest.mark.parametrize("text", ["Gå in i", "Plattformar som Asana", "hur gör man"])
def test_unsure_short_swedish_is_not_answered_in_the_default_language(decide, text: str):  # type: ignore[no-untyped-def]
    language, _ = decide.ruleset.detect_language(text)
    assert language != "en"


def test_an_entry_is_only_suggested_for_what_it_says_it_is_not_about(decide):  # type: ignore[no-untyped-def]
    assert u.outcome(u.dry_run(decide, "When are you open?"))[0] == "opening_hours"
    answered, suggested, _ = u.outcome(u.dry_run(decide, "When is your shop open?"))
    assert answered == "" and "opening_hours" in suggested
    result = u.dry_run(decide, "When is your shop open?")
    whys = [c.get("why", "") for c in result["bots"]]
    assert any("'shop'" in w and "not_about" in w for w in whys)


def test_analyzer_undoes_inflection_synonyms_and_compounds():
    a = Analyzer({"sv": [["faktura", "kvitto"]]}, "en")
    assert a.terms("kvittot", "sv") == a.terms("fakturan", "sv") == a.terms("faktura", "sv")
    a.set_vocabulary([*a.terms("leverans", "sv"), *a.terms("adress", "sv")])
    assert a.terms("leveransadressen", "sv") == (*a.terms("leverans", "sv"),
                                                  *a.terms("adress", "sv"))


def test_routing_does_not_silence_the_faq(decide):  # type: ignore[no-untyped-def]
    result = u.dry_run(decide, "Var hittar jag min faktura?")
    kinds = {a["kind"]: a for a in result["actions"]}
    assert kinds["prefer_queue"]["value"] == "billing"
    answered, _, _ = u.outcome(result)
    assert answered == "invoice_copy"
    ukrainian = u.dry_run(decide, "Де знайти мій рахунок?")
    assert u.outcome(ukrainian)[0] == "invoice_copy"
    assert any(a["kind"] == "prefer_assignee" and a["value"] == "bob"
               for a in ukrainian["actions"])


def test_try_json_keeps_its_keys_for_scripts(capsys: pytest.CaptureFixture[str]):
    assert main(["try", "--config", str(u.ROOT / "config.yaml"), "--json", "--at",
                 u.OPEN_MOMENT, "--text", "Where can I find my receipt?"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["language"] == "en"
    assert all({"kind", "value", "source"} <= set(a) for a in out["actions"])
    replies = [a["value"] for a in out["actions"] if a["kind"] == "reply"]
    assert replies[0]["reply_id"] == "faq:invoice_copy"
    assert {"entry", "score", "verdict"} <= set(out["bots"][0])
    assert main(["try", "--config", str(u.ROOT / "config.yaml"), "--json", "--at",
                 u.OPEN_MOMENT, "--text", "paketet och fakturan"]) == 0
    out = json.loads(capsys.readouterr().out)
    [suggest] = [a["value"] for a in out["actions"] if a["kind"] == "reply"]
    assert suggest["reply_id"] == "faq_suggest"
    assert all(q["payload"].startswith("faq:") for q in suggest["quick_replies"])
    assert main(["try", "--config", str(u.ROOT / "config.yaml"), "--json", "--at",
                 u.OPEN_MOMENT, "--text", "Can I talk to a person please?"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert any(a["kind"] == "handoff" for a in out["actions"])
