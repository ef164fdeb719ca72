"""Away reply: once per conversation, with the right next opening (weekend, holiday, DST)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from router.domain.hours import Schedule
from router.domain.model import Decision, Status
from router.engine.pipeline import Pipeline
from router.store.sqlite import SqliteStore
from tests.bots.helpers import ctx, make_bots, meta, replies
from tests.router.test_pipeline import inbound

SCHEDULE = Schedule.build("Europe/Stockholm", {"mon-fri": "08:00-17:00"},
                          [date(2026, 4, 3), date(2026, 4, 6)])  # Good Friday, Easter Monday


@pytest.mark.parametrize(("now", "lang", "tz", "expected"), [
    # Friday evening -> Monday, across the switch to summer time (Sunday 29 March 2026)
    (datetime(2026, 3, 27, 17, 30, tzinfo=UTC), "sv", None, "måndag 30 mars kl. 08:00"),
    (datetime(2026, 3, 27, 17, 30, tzinfo=UTC), "fi", None, "maanantaina 30.3. klo 8.00"),
    (datetime(2026, 3, 27, 17, 30, tzinfo=UTC), "en", None, "Monday 30 March at 08:00"),
    # the customer's own timezone: 08:00 in Stockholm (CEST) is 09:00 in Kyiv (EEST)
    (datetime(2026, 3, 27, 17, 30, tzinfo=UTC), "uk", "Europe/Kyiv", "у понеділок, 30 березня о 09:00"),
    # Thursday evening before Easter: Good Friday, weekend, Easter Monday -> Tuesday
    (datetime(2026, 4, 2, 16, 0, tzinfo=UTC), "nb", None, "tirsdag 7. april kl. 08:00"),
    # back to winter time (Sunday 25 October 2026): Friday night -> Monday 08:00 CET
    (datetime(2026, 10, 23, 20, 0, tzinfo=UTC), "en", None, "Monday 26 October at 08:00"),
    (datetime(2026, 10, 23, 20, 0, tzinfo=UTC), "en", "Europe/London", "Monday 26 October at 07:00"),
])
def test_next_opening_in_the_customers_language_and_timezone(tmp_path, now, lang, tz, expected):
    bots = make_bots(tmp_path, ruleset=SCHEDULE)
    fields = {"timezone": tz} if tz else {}
    d = bots.decide(ctx("blorp", language=lang, now=now, contact_fields=fields), Decision())
    [away] = replies(d)
    assert away.reply_id == "away" and expected in away.text
    handoff = next(a.value for a in d.actions if a.kind == "handoff")
    assert handoff["reason"] == "away"  # the conversation still queues


def test_faq_still_answers_when_closed(tmp_path):
    bots = make_bots(tmp_path, ruleset=SCHEDULE)
    d = bots.decide(ctx("is shipping free", now=datetime(2026, 3, 28, 12, 0, tzinfo=UTC)), Decision())
    assert [r.reply_id for r in replies(d)] == ["faq:shipping_cost"]


def test_away_sent_once_even_if_the_bot_keeps_the_conversation(tmp_path):
    bots = make_bots(tmp_path, ruleset=SCHEDULE)
    now = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)  # Saturday
    first = bots.decide(ctx("I need a human", now=now), Decision())
    # the hand-off names the next opening itself, and covers an away text sent with it
    (reply,) = replies(first)
    assert reply.reply_id == "handoff_closed_plain" and "away" in reply.covers
    assert "Monday 30 March at 08:00" in reply.text
    later = bots.decide(ctx("I need a human", now=now, metadata=meta(first)), Decision())
    assert "away" not in [r.reply_id for r in replies(later)]


async def test_away_reply_appears_once_through_the_pipeline(tmp_path):
    bots = make_bots(tmp_path, ruleset=SCHEDULE)
    store = SqliteStore(tmp_path / "router.db")
    await store.open()
    clock = [datetime(2026, 3, 28, 9, 0, tzinfo=UTC)]  # Saturday morning
    pipeline = Pipeline(store, lambda: lambda c: bots.decide(c, Decision()), clock=lambda: clock[0])
    results = []
    for i, text in enumerate(["My screen flickers since yesterday", "anyone there?", "hello??"]):
        results.append(await pipeline.ingest(inbound(f"m{i}", text=text)))
        clock[0] = clock[0].replace(minute=10 * (i + 1))

    async def outbox(tx):
        return [r.payload for r in await tx.outbox_list(["pending"])]

    rows = await store.read(outbox)
    conv = await store.read(lambda tx: tx.get_conversation(results[0].conversation_id))
    await store.close()
    assert [r["reply_id"] for r in rows] == ["away"]
    assert "Monday 30 March at 08:00" in rows[0]["text"]
    assert conv.status == Status.QUEUED and conv.metadata["bots.away_sent"]
