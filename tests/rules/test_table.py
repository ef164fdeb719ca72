"""The behaviour table: message + context -> expected actions, every condition and action,
in all five languages, with diacritics, word boundaries and regex edge cases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from router.domain.model import Attachment, Sender, Status
from rules import RuleSet
from tests.rules.helpers import CLOSED, build, ctx, summary

CONFIG = """
languages: [sv, fi, nb, uk, en]
default_language: en
business_hours:
  timezone: Europe/Stockholm
  weekly: {mon-fri: "08:00-17:00"}
  holidays: [2026-12-24]
replies:
  ack:
    sv: "Tack {{ contact.first_name }}!"
    fi: "Kiitos {{ contact.first_name }}!"
    nb: "Takk {{ contact.first_name }}!"
    uk: "Дякуємо, {{ contact.first_name }}!"
    en: "Thanks {{ contact.first_name }}!"
rules:
  - name: kw
    when: {text: {keywords: [faktura, lasku, рахунок, invoice, fakturaen]}}
    then: [{tag: invoice}]
  - {name: kw prefix, when: {text: {keywords: ["laskut*"]}}, then: [{tag: laskut}]}
  - {name: kw all, when: {text: {keywords: [refund, card], match: all}}, then: [{tag: refund_card}]}
  - {name: kw phrase, when: {text: {keywords: [credit card, ligger nere]}}, then: [{tag: phrase}]}
  - name: kw per language
    when: {text: {keywords: {sv: [paket], nb: [pakken], fi: [paketti], uk: [посилка], en: [parcel]}}}
    then: [{tag: parcel}]
  - name: kw diacritics
    when: {text: {keywords: [återbetalning, Їжак, kundtjänst]}}
    then: [{tag: diacritics}]
  - {name: rx, when: {text: {regex: '\\bORD-\\d{5}\\b'}}, then: [{tag: order_no}]}
  - {name: rx unicode, when: {text: {regex: '\\b(återbetal\\w*|повернен\\w*)\\b'}}, then: [{tag: rx_refund}]}
  - {name: rx case, when: {text: {regex: 'URGENT', case_sensitive: true}}, then: [{tag: shouting}]}
  - {name: channel, when: {channel: telegram}, then: [{tag: via_telegram}]}
  - {name: language, when: {language: fi}, then: [{tag: finnish}]}
  - {name: attachment, when: {attachment: true}, then: [{tag: has_file}]}
  - {name: photo, when: {attachment: photo}, then: [{tag: photo}]}
  - {name: domain, when: {sender: {domain: bigcorp.example}}, then: [{tag: bigcorp}]}
  - {name: email glob, when: {sender: {email: "ceo@*"}}, then: [{tag: ceo}]}
  - {name: tg user, when: {sender: {username: "@vip_anna"}}, then: [{tag: anna}]}
  - {name: slack, when: {sender: {team: T42, user: U7}}, then: [{tag: slack_u7}]}
  - {name: contact tag, when: {contact: {tag: vip}}, then: [{priority: high}]}
  - {name: contact field, when: {contact: {fields: {plan: [gold, platinum]}}}, then: [{tag: premium}]}
  - {name: status, when: {conversation: {status: assigned}}, then: [{tag: was_assigned}]}
  - {name: tag and queue, when: {conversation: {tag: escalated, queue: support}}, then: [{assign: alice}]}
  - {name: priority, when: {conversation: {priority: urgent}}, then: [{tag: hot}]}
  - {name: counts, when: {conversation: {message_count: {gte: 5}, bot_turns: {lt: 3}}}, then: [{tag: chatty}]}
  - {name: closed, when: {business_hours: closed}, then: [{tag: closed}]}
  - {name: first, when: {first_message: true}, then: [{tag: first}]}
  - name: combo
    when: {any: [{all: [{channel: email}, {not: {language: en}}]}, {text: {keywords: [hjälp]}}]}
    then: [{tag: combo}]
  - {name: route, when: {text: {keywords: [route me, ohjaa minut]}}, then: [{route: billing}, {reply: ack}]}
  - {name: team, when: {text: {keywords: [team please]}}, then: [{assign: nordic}]}
  - {name: untag, when: {text: {keywords: [untag]}}, then: [{tag: temp}, {untag: temp}, {untag: old}]}
  - {name: sees tag, when: {conversation: {tag: temp}}, then: [{tag: saw_temp}]}
  - {name: to swedish, when: {text: {keywords: [svenska tack]}}, then: [{set_language: sv}, {reply: ack}]}
  - {name: handoff, when: {text: {keywords: [människa, людина]}}, then: [{handoff: support}]}
  - {name: plain handoff, when: {text: {keywords: [agent]}}, then: [handoff]}
  - {name: resolve, when: {text: {keywords: [solved, löst]}}, then: [{resolve: true}]}
  - name: note
    when: {text: {keywords: [note]}}
    then: [{note: "{{ contact.name }} on {{ message.channel }}"}]
  - name: webhook
    when: {text: {keywords: [hook]}}
    then: [{webhook: {url: "https://hooks.example/x", payload: {who: "{{ contact.first_name }}"}}}]
  - {name: stopper, when: {text: {keywords: [stop here]}}, then: [{tag: stopped}, stop]}
  - {name: rule stop, when: {text: {keywords: [halt]}}, then: [{tag: halted}], stop: true}
  - {name: after stop, when: {text: {keywords: [stop here, halt, after]}}, then: [{tag: after_stop}]}
  - {name: disabled, enabled: false, when: {text: {keywords: [faktura]}}, then: [{tag: never}]}
  - {name: opened, on: conversation_opened, then: [{tag: opened}]}
  - {name: idle 30m, on: {conversation_idle: 30m}, then: [{tag: idle30}]}
  - {name: idle 1h, on: {conversation_idle: 1h}, then: [{tag: idle60}]}
  - {name: sla, on: sla_breached, then: [{priority: urgent}]}
  - {name: on resolved, on: [resolved], then: [{reply: ack}]}
"""

T = "tag"
Case = tuple[str, dict[str, Any], set[tuple[str, Any]], set[tuple[str, Any]]]

CASES: list[Case] = [
    # keywords: every language, case and diacritic insensitive, whole words
    ("Min faktura är fel", {}, {(T, "invoice")}, set()),
    ("Hei, lasku on väärin", {}, {(T, "invoice"), (T, "finnish")}, set()),
    ("Мій РАХУНОК неправильний", {}, {(T, "invoice")}, set()),
    ("Fakturaen er feil", {}, {(T, "invoice")}, set()),
    ("Where is my INVOICE?", {}, {(T, "invoice")}, set()),
    ("Summa on laskutettava erikseen", {}, {(T, "laskut")}, {(T, "invoice")}),
    ("Laskutus ei toimi", {}, {(T, "laskut")}, {(T, "invoice")}),
    ("lasku", {}, {(T, "invoice")}, {(T, "laskut")}),
    ("fakturaer", {}, set(), {(T, "invoice")}),
    ("Invoices and receipts", {}, set(), {(T, "invoice")}),
    ("рахунки", {}, set(), {(T, "invoice")}),
    ("a_lasku", {}, set(), {(T, "invoice")}),
    ("(lasku)", {}, {(T, "invoice")}, set()),
    ("I want a refund for the card", {}, {(T, "refund_card")}, set()),
    ("I want a refund", {}, set(), {(T, "refund_card")}),
    ("My credit  card was charged", {}, {(T, "phrase")}, set()),
    ("Tjänsten LIGGER NERE", {}, {(T, "phrase")}, set()),
    ("Var är mitt paket?", {}, {(T, "parcel")}, set()),
    ("Hvor er pakken min?", {}, {(T, "parcel")}, set()),
    ("Missä pakettini on? Paketti ei tullut", {}, {(T, "parcel")}, set()),
    ("Де моя посилка?", {}, {(T, "parcel")}, set()),
    ("Where is my parcel?", {}, {(T, "parcel")}, set()),
    ("parcel paket pakken", {"contact": {}, "language": "sv"}, {(T, "parcel")}, set()),
    ("Jag vill ha ATERBETALNING", {}, {(T, "diacritics")}, set()),
    ("Їжак", {}, {(T, "diacritics")}, set()),
    ("ІЖАК без крапок", {}, {(T, "diacritics")}, set()),
    ("Ring kundtjanst", {}, {(T, "diacritics")}, set()),
    # regex: RE2, Unicode-aware \b, case
    ("Order ORD-12345 missing", {}, {(T, "order_no")}, set()),
    ("order ord-12345", {}, {(T, "order_no")}, set()),
    ("ORD-123456", {}, set(), {(T, "order_no")}),
    ("XORD-12345", {}, set(), {(T, "order_no")}),
    ("Jag vill ha återbetalningen nu", {}, {(T, "rx_refund")}, set()),
    ("Потрібне повернення коштів", {}, {(T, "rx_refund")}, set()),
    ("ickeåterbetalning", {}, set(), {(T, "rx_refund")}),
    ("URGENT please", {}, {(T, "shouting")}, set()),
    ("urgent please", {}, set(), {(T, "shouting")}),
    # channel, language, attachments
    ("Hej", {"channel": "telegram"}, {(T, "via_telegram")}, set()),
    ("Hej", {"channel": "slack"}, set(), {(T, "via_telegram")}),
    ("Voisitteko auttaa minua vaihtamaan salasanan?", {}, {(T, "finnish")}, set()),
    ("kiitos", {"sender": Sender("u1", language_hint="fi-FI")}, {(T, "finnish")}, set()),
    ("Här är kvittot", {"attachments": (Attachment("photo"),)},
     {(T, "has_file"), (T, "photo")}, set()),
    ("See attached", {"attachments": (Attachment("document"),)}, {(T, "has_file")},
     {(T, "photo")}),
    # sender
    ("Hello", {"channel": "email", "sender": Sender("x@mail.bigcorp.example",
                                                    email="x@mail.bigcorp.example")},
     {(T, "bigcorp")}, set()),
    ("Hello", {"channel": "email", "sender": Sender("a@notbigcorp.example", email="a@notbigcorp.example")},
     set(), {(T, "bigcorp")}),
    ("Hello", {"channel": "email", "sender": Sender("CEO@Startup.io")}, {(T, "ceo")}, set()),
    ("Hei", {"channel": "telegram", "sender": Sender("1", username="VIP_Anna")}, {(T, "anna")}, set()),
    ("Hi", {"channel": "slack", "sender": Sender("U7", team="T42")}, {(T, "slack_u7")}, set()),
    ("Hi", {"channel": "slack", "sender": Sender("U7", team="T1")}, set(), {(T, "slack_u7")}),
    # contact and conversation
    ("Hej", {"contact": {"tags": frozenset({"vip"})}}, {("priority", "high")}, set()),
    ("Hej", {"contact": {"fields": {"plan": "Gold"}}}, {(T, "premium")}, set()),
    ("Hej", {"contact": {"fields": {"plan": "basic"}}}, set(), {(T, "premium")}),
    ("Hej", {"status": Status.ASSIGNED}, {(T, "was_assigned")}, set()),
    ("Hej", {"tags": frozenset({"escalated"}), "queue": "support"}, {("assign", "alice")}, set()),
    ("Hej", {"tags": frozenset({"escalated"}), "queue": "billing"}, set(), {("assign", "alice")}),
    ("Hej", {"priority": "urgent"}, {(T, "hot")}, set()),
    ("Hej", {"message_count": 5, "bot_turns": 2}, {(T, "chatty")}, set()),
    ("Hej", {"message_count": 5, "bot_turns": 3}, set(), {(T, "chatty")}),
    ("Hej", {"now": CLOSED}, {(T, "closed")}, set()),
    ("Hej", {}, set(), {(T, "closed")}),
    ("Hej", {"message_count": 1, "is_new": True}, {(T, "first")}, set()),
    ("Hej", {"message_count": 3}, set(), {(T, "first")}),
    # combinators
    ("Mitt paket är borta, snälla hjälp", {}, {(T, "combo")}, set()),
    ("Hei, kiitos avusta", {"channel": "email"}, {(T, "combo")}, set()),
    ("Thanks for the help today", {"channel": "email"}, set(), {(T, "combo")}),
    # actions
    ("Route me please", {}, {("route", "billing"), ("reply", "ack")}, set()),
    ("team please", {}, {("assign", "nordic")}, set()),
    ("untag", {"tags": frozenset({"old"})},
     {(T, "temp"), ("untag", "temp"), ("untag", "old")}, {(T, "saw_temp")}),
    ("svenska tack", {}, {("set_language", "sv"), ("reply", "ack")}, set()),
    ("Jag vill prata med en människa", {}, {("handoff", "support")}, set()),
    ("Хочу поговорити з людина", {}, {("handoff", "support")}, set()),
    ("agent", {}, {("handoff", None)}, set()),
    ("Problem solved, thanks", {}, {("resolve", None)}, set()),
    ("Det är löst nu", {}, {("resolve", None)}, set()),
    ("stop here please", {}, {(T, "stopped")}, {(T, "after_stop")}),
    ("halt", {}, {(T, "halted")}, {(T, "after_stop")}),
    ("after", {}, {(T, "after_stop")}, set()),
    ("faktura", {}, set(), {(T, "never")}),
    # events
    ("", {"event": "conversation_opened"}, {(T, "opened")}, {(T, "first")}),
    ("", {"event": "conversation_idle", "metadata": {"idle_seconds": 1800}}, {(T, "idle30")},
     {(T, "idle60")}),
    ("", {"event": "conversation_idle", "metadata": {"idle_seconds": 3900}}, {(T, "idle60")},
     {(T, "idle30")}),
    ("", {"event": "conversation_idle", "metadata": {"idle_seconds": 60}}, set(),
     {(T, "idle30"), (T, "idle60")}),
    ("", {"event": "sla_breached"}, {("priority", "urgent")}, set()),
    ("", {"event": "resolved"}, {("reply", "ack")}, set()),
    ("faktura", {"event": "resolved"}, set(), {(T, "invoice")}),
]


@pytest.fixture(scope="module")
def ruleset(tmp_path_factory: pytest.TempPathFactory) -> RuleSet:
    return build(tmp_path_factory.mktemp("table"), CONFIG)


def test_the_table_is_big_enough():
    assert len(CASES) >= 60


@pytest.mark.parametrize(("text", "kwargs", "present", "absent"), CASES,
                         ids=[f"{i}:{c[0][:24]}" for i, c in enumerate(CASES)])
def test_case(ruleset: RuleSet, text: str, kwargs: dict[str, Any],
              present: set[tuple[str, Any]], absent: set[tuple[str, Any]]):
    decision = ruleset.decide(ctx(text, **kwargs))
    got = summary(decision)
    assert present <= got, f"missing {present - got}; trace: {decision.trace}"
    assert not (absent & got), f"unexpected {absent & got}"
    assert decision.rules_version == ruleset.version


def test_later_rules_see_earlier_actions(ruleset: RuleSet):
    decision = ruleset.decide(ctx("untag"))
    names = [t["rule"] for t in decision.trace if t["matched"]]
    assert "untag" in names and "sees tag" not in names


def test_reply_language_follows_set_language(ruleset: RuleSet):
    decision = ruleset.decide(ctx("svenska tack", contact={"display_name": "Olena"}))
    reply = next(a.value for a in decision.actions if a.kind == "reply")
    assert (reply.language, reply.text) == ("sv", "Tack Olena!")
    assert decision.language == "sv"


def test_trace_names_the_deciding_condition(ruleset: RuleSet):
    decision = ruleset.decide(ctx("Hei, lasku on väärin"))
    entry = next(t for t in decision.trace if t["rule"] == "kw")
    assert entry["matched"] is True
    assert entry["decided_by"] == "when.text.keywords: found 'lasku'"
    assert entry["actions"] == [{"kind": "tag", "value": "invoice"}]
    explained = ruleset.explain(ctx("Hei, lasku on väärin"))
    combo = next(t for t in explained.decision.trace if t["rule"] == "combo")
    assert combo["decided_by"] == "when.any: none of 2 conditions matched"
    assert len([t for t in explained.decision.trace if "rule" in t]) == len(
        [r for r in ruleset.rules if r.enabled and "message" in r.events])


def test_webhook_and_note_values(ruleset: RuleSet):
    decision = ruleset.decide(ctx("hook note", contact={"display_name": "Anna Berg"}))
    hook = next(a.value for a in decision.actions if a.kind == "webhook")
    assert hook["url"] == "https://hooks.example/x"
    assert hook["payload"]["who"] == "Anna" and hook["payload"]["rule"] == "webhook"
    note = next(a.value for a in decision.actions if a.kind == "note")
    assert note == "Anna Berg on webchat"
    assert all(a.source for a in decision.actions)


def test_keyword_rules_not_evaluated_when_their_words_are_absent(tmp_path: Path):
    rules = "\n".join(f"  - {{name: r{i}, when: {{text: {{keywords: [word{i}]}}}}, then: [{{tag: t{i}}}]}}"
                      for i in range(300))
    rs = build(tmp_path, f"languages: [en]\nrules:\n{rules}\n")
    decision = rs.decide(ctx("hello word7 and word250"))
    assert [t["rule"] for t in decision.trace] == ["r7", "r250"]
    assert summary(decision) == {("tag", "t7"), ("tag", "t250")}
