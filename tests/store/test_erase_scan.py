"""Erasure leaves nothing of the person anywhere in the database, on both backends.

The whole database is read back after `erase_contacts`: every table of the schema (on
PostgreSQL the search side tables and `channel_state` included), every column, as text.
Channel state tied to the contact or to its conversations goes with it (issue 25).
"""

from __future__ import annotations

from datetime import UTC, datetime

from router.domain.model import InboundMessage, Sender
from router.engine.pipeline import Pipeline
from router.engine.privacy.scrub import PrivacyScrubber
from router.store import Store, Tx, utcnow
from router.store.channel_state import StoreChannelState
from router.store.postgres_tx import PgTx
from tests.conftest import echo_decide

NAME = "Ulrika Zebrafinch"
EMAIL = "ulrika.zebrafinch@example.se"
PHONE = "+46701234987"
NEEDLES = ("zebrafinch", "701234987")


async def _tables(tx: Tx) -> list[str]:
    if isinstance(tx, PgTx):
        sql = ("SELECT table_name FROM information_schema.tables "
               "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'")
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
    return [str(r[0]) for r in await tx._all(sql)]  # the raw tables, as they are


async def _hits(tx: Tx) -> list[str]:
    """Every (table: needle) where a row still holds the person's name or number."""
    hits = []
    for table in await _tables(tx):
        for row in await tx._all(f'SELECT * FROM "{table}"'):
            text = " ".join(str(v) for v in row).lower()
            hits += [f"{table}: {n}" for n in NEEDLES if n in text]
    return hits


async def test_erasure_leaves_nothing_of_the_person_in_any_table(store: Store):
    pipeline = Pipeline(store, lambda: echo_decide)
    now = datetime.now(UTC)
    sender = Sender(external_id=EMAIL, display_name=NAME, email=EMAIL)
    for i, text in enumerate((f"Hi, I am {NAME}, call me on {PHONE}", "zebrafinch again")):
        await pipeline.ingest(InboundMessage(
            channel="email", external_id=f"<m{i}@example.se>", thread_key="t-zebra",
            sender=sender, text=text, received_at=now))
    contact = await store.read(lambda tx: tx.find_contact("email", EMAIL))
    assert contact is not None
    conv = await store.read(lambda tx: tx.find_conversation("email", ["t-zebra"]))
    assert conv is not None
    email = StoreChannelState(store, "email")
    await email.put(f"cap:{EMAIL}", {"sent": 1, "to": NAME}, contact_id=contact.id)
    await email.put(f"thread:{conv.id}", {"subject": f"call {PHONE}"}, conversation_id=conv.id)
    await email.put("imap:inbox", [1, 2])  # nobody's: stays
    assert await store.read(_hits)  # the scan sees the person before erasure

    counts = await store.write(
        lambda tx: tx.erase_contacts([contact.id], utcnow(), PrivacyScrubber()))

    assert counts["channel_state"] == 2
    assert await store.read(_hits) == []
    assert await email.get("imap:inbox") == [1, 2]
