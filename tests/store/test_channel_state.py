"""The `ChannelState` port (issue 25) on SQLite and PostgreSQL: values, scans, leases."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from router.domain.model import Contact, Conversation
from router.engine.privacy.scrub import PrivacyScrubber
from router.store import Store, Tx, utcnow
from router.store.channel_state import StoreChannelState
from router.store.postgres import PostgresStore


class Clock:
    """A clock the test moves on (leases expire without sleeping)."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


async def test_get_put_delete_and_scan_by_prefix(store: Store):
    email, other = StoreChannelState(store, "email"), StoreChannelState(store, "slack")
    assert await email.get("thread:1") is None
    assert await email.get("thread:1", {}) == {}
    await email.put("thread:1", {"subject": "Faktura", "refs": ["<a@x>"]}, conversation_id=1)
    await email.put("thread:2", {"subject": "Två"}, conversation_id=2, contact_id=7)
    await email.put("imap:inbox", [5, 42])
    await email.put("thread_:odd", 1)  # `_` and `%` in a prefix are not wildcards
    await other.put("thread:1", "slack's own")
    assert await email.get("thread:1") == {"subject": "Faktura", "refs": ["<a@x>"]}
    await email.put("thread:1", {"subject": "Re: Faktura"})  # replaces
    assert await email.scan("thread:") == {"thread:1": {"subject": "Re: Faktura"},
                                           "thread:2": {"subject": "Två"}}
    assert await email.scan("imap:") == {"imap:inbox": [5, 42]}
    assert list(await email.scan("")) == ["imap:inbox", "thread:1", "thread:2", "thread_:odd"]
    assert await other.scan("") == {"thread:1": "slack's own"}
    assert await email.delete("thread:2") is True
    assert await email.delete("thread:2") is False
    assert await email.get("thread:2") is None


async def test_claim_is_held_by_one_owner_until_it_expires(store: Store):
    clock = Clock()
    state = StoreChannelState(store, "email", clock=clock)
    assert await state.claim("poll:inbox", "a", 30) is True
    assert await state.claim("poll:inbox", "a", timedelta(seconds=30)) is True  # renewed
    assert await state.claim("poll:inbox", "b", 30) is False
    clock.now += timedelta(seconds=29)
    assert await state.claim("poll:inbox", "b", 30) is False  # a renewed it at t=0
    clock.now += timedelta(seconds=2)
    assert await state.claim("poll:inbox", "b", 30) is True  # a's lease ran out
    assert await state.claim("poll:inbox", "a", 30) is False
    assert await state.release("poll:inbox", "a") is False  # not a's to give up
    assert await state.release("poll:inbox", "b") is True
    assert await state.claim("poll:inbox", "a", 30) is True  # released: free at once
    # a lease on a key with a value keeps the value; a lease alone has none
    await state.put("cap:ulla", 2)
    assert await state.claim("cap:ulla", "a", 30) is True
    assert await state.get("cap:ulla") == 2
    assert await state.get("poll:inbox") is None and "poll:inbox" not in await state.scan("")
    # another channel's lease of the same key is another lease
    assert await StoreChannelState(store, "slack", clock=clock).claim("poll:inbox", "b", 30)


async def test_owners_racing_for_a_claim_get_one_winner(store: Store):
    """Many units at once (parallel transactions on PostgreSQL): exactly one owner wins
    a fresh key and exactly one wins an expired one."""
    clock = Clock()
    state = StoreChannelState(store, "email", clock=clock)
    won = await asyncio.gather(*(state.claim("poll:inbox", f"owner{i}", 30) for i in range(12)))
    assert won.count(True) == 1
    clock.now += timedelta(seconds=31)
    won = await asyncio.gather(*(state.claim("poll:inbox", f"other{i}", 30) for i in range(12)))
    assert won.count(True) == 1


async def test_two_instances_on_postgresql_race_for_one_claim(pg_url: str):
    """Two services' stores on one database: the claim has one holder between them."""
    first, second = PostgresStore(pg_url), PostgresStore(pg_url)
    await first.open()
    await second.open()
    try:
        clock = Clock()
        a = StoreChannelState(first, "email", clock=clock)
        b = StoreChannelState(second, "email", clock=clock)
        won = await asyncio.gather(*(s.claim("poll:inbox", f"{n}{i}", 30)
                                     for i in range(8) for n, s in (("a", a), ("b", b))))
        assert won.count(True) == 1
        await a.put("thread:1", {"subject": "shared"}, conversation_id=1)
        assert await b.get("thread:1") == {"subject": "shared"}
    finally:
        await first.close()
        await second.close()


async def test_erasing_a_contact_removes_its_channel_state(store: Store):
    """By contact id and by the contact's conversations, on both backends; others stay."""
    now = utcnow()

    async def people(tx: Tx) -> tuple[int, int, int]:
        ulla = await tx.create_contact(Contact(0, "Ulla"), now)
        conv = await tx.create_conversation(Conversation(0, ulla, "email", "t1", created_at=now,
                                                         updated_at=now))
        return ulla, conv, await tx.create_contact(Contact(0, "Other"), now)

    ulla, conv, other = await store.write(people)
    email = StoreChannelState(store, "email")
    await email.put("thread:1", {"subject": "Ulla's"}, conversation_id=conv)
    await email.put("cap:ulla@example.se", 1, contact_id=ulla)
    await email.put("cap:other@example.se", 1, contact_id=other)
    await email.put("imap:inbox", [1, 2])
    exported = await store.read(lambda tx: tx.privacy_rows([ulla]))
    assert [r["key"] for r in exported["channel_state"]] == ["cap:ulla@example.se", "thread:1"]
    counts = await store.write(lambda tx: tx.erase_contacts([ulla], now, PrivacyScrubber()))
    assert counts["channel_state"] == 2
    assert list(await email.scan("")) == ["cap:other@example.se", "imap:inbox"]
    # retention deleting a conversation takes its channel state along
    await email.put("thread:1", {"subject": "again"}, conversation_id=conv)
    await store.write(lambda tx: tx.delete_conversations([conv]))
    assert await email.get("thread:1") is None
    # and deleting a contact without conversations takes its state along
    await email.put("cap:other@example.se", 1, contact_id=other)
    removed = await store.write(lambda tx: tx.delete_orphan_contacts(now + timedelta(days=1)))
    assert removed >= 1 and await email.get("cap:other@example.se") is None
    assert await email.get("imap:inbox") == [1, 2]
