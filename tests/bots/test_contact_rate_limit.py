"""The bot's rate limit counts per contact, across conversations and channels' threads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from router.config import load_config
from router.domain.model import InboundMessage, Sender
from router.engine.pipeline import Pipeline
from router.store.sqlite import SqliteStore
from router.wiring import build_decide
from tests.conftest import write_config

CONFIG = """
languages: [en]
replies:
  hello: {en: "Hello {{ message.text }}"}
rules:
  - {name: greet, then: [{reply: hello}]}
bots:
  rate_limit: {max_replies: 2, per: 1h}
"""


async def test_a_contact_writing_in_new_threads_still_hits_the_limit(tmp_path):
    decide = build_decide(load_config(write_config(tmp_path, CONFIG)))
    store = SqliteStore(tmp_path / "r.db")
    await store.open()
    now = [datetime(2026, 3, 3, 10, tzinfo=UTC)]
    pipeline = Pipeline(store, lambda: decide, clock=lambda: now[0])
    sent = []
    for i in range(3):
        now[0] += timedelta(minutes=1)
        r = await pipeline.ingest(InboundMessage(
            "loopback", f"m{i}", f"thread-{i}", Sender("same-person"), f"number {i}", now[0]))
        out = await store.read(lambda tx, c=r.conversation_id: tx.list_messages(c))
        sent.append([m.text for m in out if m.direction == "out"])
    assert sent[:2] == [["Hello number 0"], ["Hello number 1"]]
    assert sent[2] == []  # the third conversation is the contact's third bot reply this hour
    now[0] += timedelta(hours=2)
    r = await pipeline.ingest(InboundMessage("loopback", "m9", "thread-9", Sender("same-person"),
                                             "later", now[0]))
    out = await store.read(lambda tx: tx.list_messages(r.conversation_id))
    assert [m.text for m in out if m.direction == "out"] == ["Hello later"]
    await store.close()
