"""What the customer hears (issue 21), through the running service with the shipped rules.

The shipped `config.d/` is copied with its business hours replaced by a window computed
from the real clock (open now, or closed now with the next opening a few hours away), so
the tests hold at any time of day. Customers write over the loopback channel; agents act
over /api/v1. What the customer hears is read from the outbox rows of the conversation.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import ROOT

TZ = ZoneInfo("Europe/Stockholm")
QUEUES = """
queues:
  general: {sla: {first_response: 4h, resolution: 3d, business_hours: false}}
  billing: {sla: {first_response: 1h, resolution: 1d, business_hours: false}}
  support: {sla: {first_response: 30m, business_hours: false}}
  sales: {sla: {first_response: 2h, business_hours: false}}
"""
REQUESTS = {
    "sv": "Jag vill prata med en människa",
    "fi": "Haluan puhua ihmisen kanssa",
    "nb": "Jeg vil snakke med et menneske",
    "uk": "Хочу поговорити з живою людиною",
    "en": "I want to talk to a human",
}
SLOWER = {"general": 4, "sales": 2, "billing": 1, "support": 0.5}  # hours to first response


def _hours(closed: bool) -> tuple[str, datetime | None]:
    """A weekly block for every day: open around now, or closed now and opening later."""
    now = datetime.now(TZ)
    if not closed:
        return "00:00-23:59", None
    if now.hour <= 20:
        start = now.replace(hour=now.hour + 2, minute=0, second=0, microsecond=0)
    else:
        start = (now + timedelta(days=1)).replace(hour=1, minute=0, second=0, microsecond=0)
    return f"{start:%H}:00-{start.hour + 1:02d}:00", start


def _shipped_rules(tmp_path: Path, *, closed: bool) -> tuple[str, datetime | None]:
    target = tmp_path / "shipped.d"
    shutil.copytree(ROOT / "config.d", target)
    rules = target / "rules.yaml"
    window, opening = _hours(closed)
    text = re.sub(r"business_hours:\n(  .*\n|\s+\d.*\n)+",
                  "business_hours:\n  timezone: Europe/Stockholm\n"
                  f"  weekly: {{mon-sun: \"{window}\"}}\n  holidays: []\n\n",
                  rules.read_text(encoding="utf-8"), count=1)
    rules.write_text(text, encoding="utf-8")
    return f"{QUEUES}\ninclude: ['{target}/*.yaml']\n", opening


@pytest.fixture
def api_factory(api_factory):  # type: ignore[no-untyped-def]
    """tests/api's, deciding with the configured rules and bots, as `serve` does."""
    return functools.partial(api_factory, configured_rules=True)


def _heard(tmp_path: Path, conv_id: int) -> list[dict[str, Any]]:
    """Payloads of what went (or goes) out to the customer in this conversation."""
    db = sqlite3.connect(tmp_path / "data" / "router.db")
    try:
        rows = db.execute("SELECT payload FROM outbox WHERE conversation_id = ? AND channel != "
                          "'webhook' ORDER BY id", (conv_id,)).fetchall()
    finally:
        db.close()
    return [json.loads(r[0]) for r in rows]


def _conversation(tmp_path: Path, conv_id: int) -> dict[str, Any]:
    db = sqlite3.connect(tmp_path / "data" / "router.db")
    db.row_factory = sqlite3.Row
    try:
        row = db.execute("SELECT * FROM conversations WHERE id = ?", (conv_id,)).fetchone()
        events = [r[0] for r in db.execute(
            "SELECT kind FROM events WHERE conversation_id = ? ORDER BY id", (conv_id,))]
    finally:
        db.close()
    return {**dict(row), "events": events}


async def test_out_of_hours_invoice_question_gets_one_coherent_reply(api_factory, tmp_path):
    extra, opening = _shipped_rules(tmp_path, closed=True)
    api = await api_factory(extra)
    conv_id = await api.customer("Hej! Jag har inte fått någon faktura för min beställning, "
                                 "var hittar jag den?", sender="u-invoice")
    heard = _heard(tmp_path, conv_id)
    assert len(heard) == 1, [h["text"] for h in heard]
    text = heard[0]["text"]
    assert opening is not None and f"{opening:%H}:00" in text  # the next opening, named
    # no promise of an answer within the hour while nobody is there
    assert not re.search(r"inom (cirka )?1 tim(?! efter)", text)
    assert heard[0]["language"] == "sv"


async def test_out_of_hours_request_names_the_opening_and_the_wait_after_it(api_factory,
                                                                            tmp_path):
    extra, opening = _shipped_rules(tmp_path, closed=True)
    api = await api_factory(extra)
    conv_id = await api.customer("Hei! Haluan puhua ihmisen kanssa laskustani", sender="u-fi")
    (reply,) = _heard(tmp_path, conv_id)
    assert opening is not None and f"klo {opening.hour}.00" in reply["text"]
    assert "avaamisesta" in reply["text"]  # the wait counts from the opening
    assert "jonossa" not in reply["text"] or "suljettu" in reply["text"]


@pytest.mark.parametrize("language", sorted(REQUESTS))
async def test_a_request_for_a_person_is_acknowledged_in_every_state(api_factory, tmp_path,
                                                                     language):
    extra, _ = _shipped_rules(tmp_path, closed=False)
    api = await api_factory(extra)
    sender = f"u-{language}"
    thread = f"t-{language}"
    request = REQUESTS[language]
    # 1. bot: the hand-off itself is acknowledged
    conv_id = await api.customer(request, thread=thread, sender=sender)
    first = _heard(tmp_path, conv_id)
    assert len(first) == 1 and first[0]["language"] == language
    before = _conversation(tmp_path, conv_id)
    assert before["status"] in ("queued", "assigned")
    # 2. queued (or already assigned by a rule): asked again, acknowledged again, once
    await api.customer(request, thread=thread, sender=sender)
    second = _heard(tmp_path, conv_id)
    assert len(second) == 2 and second[1]["language"] == language
    assert second[1]["text"] != second[0]["text"]
    # 3. assigned: the named agent has been told
    conv = _conversation(tmp_path, conv_id)
    if conv["status"] != "assigned":
        status, body = await api.call("POST", f"/conversations/{conv_id}/claim", "boss")
        assert status == 200, body
    conv = _conversation(tmp_path, conv_id)
    await api.customer(request, thread=thread, sender=sender)
    third = _heard(tmp_path, conv_id)
    assert len(third) == 3 and third[2]["reply_id"] == "handoff_assigned"
    names = {"boss": "Bo Boss", "bob": "Bob Agent", "ann": "Ann Agent"}
    assert names[conv["assignee"]] in third[2]["text"]
    after = _conversation(tmp_path, conv_id)
    assert after["events"].count("customer_asked_for_human") == 2
    # never a slower queue, never a lower priority
    assert SLOWER[after["queue"]] <= SLOWER[before["queue"] or "general"]
    assert after["priority"] == before["priority"] or after["priority"] in ("high", "urgent")
    assert '"bots.wants_human"' in after["metadata"]
    status, body = await api.call("GET", f"/conversations/{conv_id}", conv["assignee"])
    assert status == 200 and body["wants_human_at"]  # what the console highlights


async def test_billing_keeps_its_sla_when_the_customer_asks_for_a_person(api_factory, tmp_path):
    extra, _ = _shipped_rules(tmp_path, closed=False)
    api = await api_factory(extra)
    conv_id = await api.customer("Beloppet på min faktura är fel", thread="t-bill",
                                 sender="u-bill")
    await api.customer("Jag vill prata med en människa", thread="t-bill", sender="u-bill")
    conv = _conversation(tmp_path, conv_id)
    assert conv["queue"] == "billing" and conv["priority"] == "high"
    heard = _heard(tmp_path, conv_id)
    assert heard and "1 tim" in heard[-1]["text"]  # billing's wait, not general's 4 h
