"""PostgreSQL: the per-message units' round trips (issue 28). Each statement costs an
instance about 0.1 ms of CPU, so the processing unit takes its locks with the inbox take,
and writes a row with what belongs to it in one statement; these tests count statements
and check that what the merged statements do is what the separate ones did."""

from __future__ import annotations

import asyncpg
import pytest

from router.domain.model import (
    AuthorKind,
    Contact,
    Conversation,
    Direction,
    Identity,
    InboundMessage,
    Message,
    OutboxRow,
    OutboxStatus,
    Sender,
)
from router.engine.pipeline import Pipeline
from router.store.base import Tx, utcnow
from router.store.migrate import migrations
from router.store.postgres import PostgresStore
from router.store.postgres_tx import EVENTS_LOCK, PgTx
from router.store.sql_conversations import identity_lock, thread_lock
from tests.store.pg import fresh_schema, store_url
from tests.store.replies import FreeSlots, answering


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Statements run per write unit (BEGIN and COMMIT not counted), in unit order."""
    counts: list[int] = []
    original_init, original_count = PgTx.__init__, PgTx._count_statement

    def init(self: PgTx, *args: object, **kw: object) -> None:
        original_init(self, *args, **kw)  # type: ignore[arg-type]
        if self.writable:
            counts.append(0)
            self._count_at = len(counts) - 1  # type: ignore[attr-defined]

    def count(self: PgTx) -> None:
        original_count(self)
        if self.writable:
            counts[self._count_at] += 1  # type: ignore[attr-defined]

    monkeypatch.setattr(PgTx, "__init__", init)
    monkeypatch.setattr(PgTx, "_count_statement", count)
    return counts


def _message(i: int, thread: str) -> InboundMessage:
    return InboundMessage("loopback", f"m{i}", thread, Sender(f"u-{thread}"), "När har ni öppet?",
                          utcnow())


@pytest.mark.parametrize("leasing", [False, True], ids=["lease-rounds", "own-lease"])
async def test_a_message_is_processed_in_few_statements(statements: list[int],
                                                        leasing: bool) -> None:
    """With `leasing`, the unit leases its reply in its last statement (`finish`): the
    same count (router/engine/reply_claim.py)."""
    slots = FreeSlots()
    async with fresh_schema() as (url, schema):
        store = PostgresStore(store_url(url, schema))
        await store.open()
        try:
            pipeline = Pipeline(store, lambda: answering, slots=slots if leasing else None)
            for i, thread in enumerate(("t1", "t1")):
                assert await pipeline.accept(_message(i, thread))
                statements.clear()
                result = await pipeline.process(_message(i, thread))
                assert not result.duplicate
                if i == 0:  # a new contact and conversation, answered
                    # take+locks, contact+conversation+bot replies (`find_sender`),
                    # contact+identity, conversation+keys, message+inbox, reply+outbox,
                    # (language, conversation update, events)
                    assert statements == [7]
                else:  # the same conversation, answered again
                    # take+locks, contact+conversation+bot replies, message+inbox,
                    # reply+outbox, (conversation update, events)
                    assert statements == [5]
            rows = await store.read(lambda tx: tx.outbox_list([OutboxStatus.PENDING]))
            assert len(rows) == 2 and all(r.message_id for r in rows)
            # leased by its unit: the first reply only (the second is behind it in its thread)
            assert [(r.id, r.attempts) for r in slots.handed] == (
                [(rows[0].id, 1)] if leasing else [])
            assert [r.attempts for r in rows] == [1 if leasing else 0, 0]
            # the writes that went with the events: the contact's first language, the
            # conversation's counters
            contact = await store.read(lambda tx: tx.find_contact("loopback", "u-t1"))
            assert contact is not None and contact.language == "sv"
            conv = await store.read(lambda tx: tx.find_conversation("loopback", ["t1"]))
            assert conv is not None and (conv.message_count, conv.bot_turns) == (2, 3)
            assert conv.language == "sv"
            # the events were numbered at commit (migrations 0018, 0019), in the unit's order,
            # and nothing is left staged
            kinds = [e.kind for e in await store.read(lambda tx: tx.list_events(conv.id))]
            assert kinds[:2] == ["conversation_opened", "message_received"]
            assert kinds.count("message_received") == 2
            staged = await store.read(lambda tx: tx.c.fetchval(  # type: ignore[attr-defined]
                "SELECT count(*) FROM events_staged"))
            assert staged == 0
            inbox = await store.read(lambda tx: tx.c.fetch(  # type: ignore[attr-defined]
                "SELECT message_id FROM inbox ORDER BY external_id"))
            assert all(r["message_id"] for r in inbox) and len(inbox) == 2
        finally:
            await store.close()


async def test_the_inbox_take_holds_the_lookups_locks(statements: list[int]) -> None:
    """The take's locks are the ones `find_contact` and `find_conversation` take: another
    session cannot have them until the unit ends, and the lookups take none again."""
    async with fresh_schema() as (url, schema):
        store = PostgresStore(store_url(url, schema))
        await store.open()
        other = await asyncpg.connect(url)
        names = [identity_lock("loopback", "u1"), thread_lock("loopback", "t1"),
                 thread_lock("loopback", "alias")]

        async def free(name: str) -> bool:
            got = await other.fetchval("SELECT pg_try_advisory_lock(hashtextextended($1, 0))",
                                       name)
            if got:
                await other.execute("SELECT pg_advisory_unlock(hashtextextended($1, 0))", name)
            return bool(got)

        async def unit(tx: Tx) -> list[bool]:
            assert await tx.inbox_take("loopback", "m1", sender="u1",
                                       thread_keys=["t1", "alias"])
            held = [not await free(name) for name in names]
            await tx.find_contact("loopback", "u1")
            await tx.find_conversation("loopback", ["t1", "alias"])
            return held

        try:
            await store.write(lambda tx: tx.inbox_accept("loopback", "m1", utcnow(), "{}"),
                              one_statement=True)
            statements.clear()
            assert await store.write(unit) == [True, True, True]
            assert statements == [3]  # the take with its locks, then the two lookups
            assert [await free(name) for name in names] == [True, True, True]  # at commit
            again = await store.write(lambda tx: tx.inbox_take("loopback", "m1", sender="u1"))
            assert again is False
        finally:
            await other.close()
            await store.close()


async def test_a_row_and_what_belongs_to_it_in_one_statement(statements: list[int]) -> None:
    async with fresh_schema() as (url, schema):
        store = PostgresStore(store_url(url, schema))
        await store.open()
        now = utcnow()

        async def unit(tx: Tx) -> tuple[int, int, int, int]:
            contact = await tx.create_contact(Contact(0, "Olga"), now,
                                              Identity(0, 0, "loopback", "olga", "o", "Olga"))
            conv = await tx.create_conversation(
                Conversation(0, contact, "loopback", "t1", created_at=now, updated_at=now),
                ["t1", "t1", "", "alias"])
            await tx.inbox_accept("loopback", "m1", now, "{}")
            seen = await tx.insert_message(
                Message(0, conv, Direction.INBOUND, AuthorKind.CUSTOMER, "hej", now),
                inbox=("loopback", "m1"))
            reply = await tx.insert_message(
                Message(0, conv, Direction.OUTBOUND, AuthorKind.BOT, "hej hej", now),
                outbox=OutboxRow(0, "key-1", "loopback", "t1", "olga", {"text": "hej hej"},
                                 OutboxStatus.PENDING, 0, now, now, conversation_id=conv))
            assert isinstance(tx, PgTx) and tx.wrote_outbox  # the commit wakes dispatchers
            return contact, conv, seen, reply

        try:
            statements.clear()
            contact, conv, seen, reply = await store.write(unit)
            assert statements == [6]  # four merged statements, the inbox row, the NOTIFY
            found = await store.read(lambda tx: tx.find_contact("loopback", "olga"))
            assert found is not None and found.id == contact
            for key in ("t1", "alias"):
                by_key = await store.read(lambda tx, k=key: tx.find_conversation("loopback", [k]))
                assert by_key is not None and by_key.id == conv
            link = await store.read(lambda tx: tx.c.fetchval(  # type: ignore[attr-defined]
                "SELECT message_id FROM inbox WHERE external_id = 'm1'"))
            assert link == seen
            [row] = await store.read(lambda tx: tx.outbox_list([OutboxStatus.PENDING]))
            assert (row.message_id, row.conversation_id, row.payload["text"]) == (
                reply, conv, "hej hej")
        finally:
            await store.close()


async def test_deferred_writes_are_seen_by_the_units_next_statement(
        statements: list[int]) -> None:
    """A conversation's update waits for the unit's next statement or its end; whatever
    the unit reads after it sees it, and a unit that ends with it commits it."""
    async with fresh_schema() as (url, schema):
        store = PostgresStore(store_url(url, schema))
        await store.open()
        now = utcnow()

        async def create(tx: Tx) -> int:
            contact = await tx.create_contact(Contact(0, "Olga"), now)
            return await tx.create_conversation(
                Conversation(0, contact, "loopback", "t1", created_at=now, updated_at=now))

        async def tag_then_read(tx: Tx) -> list[str]:
            conv = await tx.get_conversation(conv_id)
            assert conv is not None
            conv.tags = ["vip"]
            await tx.save_conversation(conv, now)
            await tx.set_contact_language(conv.contact_id, "fi")
            again = await tx.get_conversation(conv_id)  # sends the two writes first
            assert again is not None
            contact = await tx.get_contact(conv.contact_id)
            assert contact is not None and contact.language == "fi"
            return again.tags

        async def retag(tx: Tx) -> None:  # ends with the write: no events, no outbox
            conv = await tx.get_conversation(conv_id)
            assert conv is not None
            conv.tags = ["vip", "late"]
            await tx.save_conversation(conv, now)

        try:
            conv_id = await store.write(create)
            statements.clear()
            assert await store.write(tag_then_read) == ["vip"]
            assert statements == [4]  # read, (both writes), read, read
            statements.clear()
            await store.write(retag)
            assert statements == [2]  # read, then the write alone at the end
            conv = await store.read(lambda tx: tx.get_conversation(conv_id))
            assert conv is not None and conv.tags == ["vip", "late"]
        finally:
            await store.close()


def test_the_events_trigger_takes_the_events_lock() -> None:
    """The events trigger names the lock by its number: the same one as the code's
    (migration 0019 replaced 0018's trigger)."""
    [migration] = [m for m in migrations("postgresql") if m.version == 19]
    assert f"pg_advisory_xact_lock({EVENTS_LOCK})" in migration.sql
