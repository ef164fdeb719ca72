"""`StoreChannelHost` (issue 25) on SQLite and PostgreSQL: a channel sees only its own
conversations, and reachability is per channel, read by the outbox, erased with the contact."""

from __future__ import annotations

import itertools
from dataclasses import replace

from router.domain.model import (
    AuthorKind,
    Contact,
    Conversation,
    Direction,
    Identity,
    Message,
    OutboxRow,
    OutboxStatus,
)
from router.engine.channel_host_store import StoreChannelHost
from router.engine.privacy.scrub import PrivacyScrubber
from router.ports.channel_host import UNREACHABLE
from router.store import Store, Tx, utcnow


async def _olga(store: Store) -> dict[str, int]:
    """Olga, known on two Telegram bots and by email, with a conversation on the first."""
    now = utcnow()

    async def unit(tx: Tx) -> dict[str, int]:
        olga = await tx.create_contact(Contact(0, "Olga"), now)
        for channel, external in (("telegram:a", "111"), ("telegram:b", "111"),
                                  ("email", "olga@example.se")):
            await tx.create_identity(Identity(0, olga, channel, external), now)
        conv = await tx.create_conversation(Conversation(
            0, olga, "telegram:a", "111", created_at=now, updated_at=now))
        await tx.add_thread_keys("telegram:a", ["111"], conv)
        seen = await tx.insert_message(Message(0, conv, Direction.INBOUND, AuthorKind.CUSTOMER,
                                               "hej", now, external_id="m1"))
        note = await tx.insert_message(Message(0, conv, Direction.OUTBOUND, AuthorKind.AGENT,
                                               "note", now, internal=True))
        return {"contact": olga, "conv": conv, "seen": seen, "note": note}

    return await store.write(unit)


_KEYS = itertools.count(1)


def _row(row_id: int, channel: str, address: str) -> OutboxRow:
    now = utcnow()
    return OutboxRow(row_id, f"k{row_id}", channel, address, address, {},
                     OutboxStatus.PENDING, 0, now, now)


async def _refused(store: Store, rows: list[OutboxRow]) -> set[int]:
    """The outbox's lease round over `rows`, stored afresh: which of them (by the `_row`
    number) it found refused. Every row must be leased, or the answer would be vacuous."""
    async def add(tx: Tx) -> dict[int, int]:
        return {await tx.outbox_add(replace(row, idempotency_key=f"k{next(_KEYS)}")): row.id
                for row in rows}

    numbers = await store.write(add)
    now = utcnow()
    found = await store.write(lambda tx: tx.outbox_lease_round(now, now, 100, UNREACHABLE),
                              one_statement=True)
    assert {row.id for row in found.rows} == set(numbers)

    async def settle(tx: Tx) -> None:  # a later call's rows are not queued behind these
        for row in found.rows:
            await tx.outbox_give_up(row.id, OutboxStatus.FAILED, "test")

    await store.write(settle)
    return {numbers[i] for i in found.refused}


async def test_lookups_see_only_the_hosts_own_channel(store: Store):
    ids = await _olga(store)
    mine, other = StoreChannelHost(store, "telegram:a"), StoreChannelHost(store, "telegram:b")
    conv = await mine.conversation_for("111")
    assert conv is not None and conv.id == ids["conv"]
    assert await other.conversation_for("111") is None
    assert [m.text for m in await mine.history(ids["conv"])] == ["hej", "note"]
    assert await other.history(ids["conv"]) == []
    message = await mine.message("m1")
    assert message is not None and message.id == ids["seen"]
    assert await other.message("m1") is None
    # what the thread's customer may see: not a note, not under another thread key
    assert (await mine.customer_message("111", ids["seen"])) is not None
    assert await mine.customer_message("111", ids["note"]) is None
    assert await mine.customer_message("222", ids["seen"]) is None
    assert await other.customer_message("111", ids["seen"]) is None


async def test_an_attachment_outcome_is_merged_into_the_message(store: Store):
    now = utcnow()

    async def unit(tx: Tx) -> int:
        contact = await tx.create_contact(Contact(0), now)
        conv = await tx.create_conversation(Conversation(0, contact, "telegram:a", "9",
                                                         created_at=now, updated_at=now))
        return await tx.insert_message(Message(
            0, conv, Direction.INBOUND, AuthorKind.CUSTOMER, "", now, external_id="f1",
            attachments=[{"kind": "document", "ref": "r", "download": "pending"}]))

    message_id = await store.write(unit)
    host = StoreChannelHost(store, "telegram:a")
    assert [m.id for m in await host.messages_with_attachment_mark('"download":"pending"')] == \
        [message_id]
    assert await host.update_attachment(message_id, "f1", 0, {"download": "done", "sha256": "ab"})
    assert not await host.update_attachment(message_id, "f1", 1, {"download": "done"})
    assert not await host.update_attachment(message_id + 1, "f1", 0, {"download": "done"})
    message = await host.message("f1")
    assert message is not None
    assert message.attachments == [{"kind": "document", "ref": "r", "download": "done",
                                    "sha256": "ab"}]
    assert await host.messages_with_attachment_mark('"download":"pending"') == []


async def test_reachability_is_per_channel_read_by_the_outbox_and_erased(store: Store):
    ids = await _olga(store)
    bot_a, bot_b = StoreChannelHost(store, "telegram:a"), StoreChannelHost(store, "telegram:b")
    assert await bot_a.set_unreachable("999", True) is False  # nobody known there
    assert await bot_a.set_unreachable("111", True) is True
    assert await bot_a.is_unreachable("111") and not await bot_b.is_unreachable("111")
    contact = await store.read(lambda tx: tx.get_contact(ids["contact"]))
    assert contact is not None and contact.unreachable  # agents see why answers stop
    rows = [_row(1, "telegram:a", "111"), _row(2, "telegram:b", "111"),
            _row(3, "email", "olga@example.se"), _row(4, "telegram:a", "")]
    assert await _refused(store, rows) == {1}
    # the entry is about Olga: export lists it, erasure removes it
    exported = await store.read(lambda tx: tx.privacy_rows([ids["contact"]]))
    assert [r["key"] for r in exported["channel_state"]] == ["unreachable:111"]
    counts = await store.write(
        lambda tx: tx.erase_contacts([ids["contact"]], utcnow(), PrivacyScrubber()))
    assert counts["channel_state"] == 1
    assert await _refused(store, rows) == set()


async def test_an_unblock_makes_the_address_reachable_again(store: Store):
    await _olga(store)
    host = StoreChannelHost(store, "telegram:a")
    await host.set_unreachable("111", True)
    assert await host.set_unreachable("111", False) is True
    assert not await host.is_unreachable("111")
    assert await _refused(store, [_row(1, "telegram:a", "111")]) == set()
    contact = await host.contact("111")
    assert contact is not None and not contact.unreachable


async def test_a_broadcast_is_built_only_where_another_instance_can_receive_it(
        store: Store, monkeypatch) -> None:
    """Web chat broadcasts replies other instances may push; on SQLite (one process per
    database) nobody could receive them, so the payload is not even encoded."""
    sent: list[tuple[str, str, bool]] = []

    async def record(topic: str, payload: str, *, prompt: bool = False) -> None:
        sent.append((topic, payload, prompt))

    monkeypatch.setattr(store, "broadcast", record)
    host = StoreChannelHost(store, "webchat")
    await host.broadcast({"visitor": "v1", "frame": {"id": 7}})
    await host.broadcast({"here": ["v1"], "peer": "p"}, prompt=True)
    if store.shared:
        assert sent == [("webchat", '{"visitor":"v1","frame":{"id":7}}', False),
                        ("webchat", '{"here":["v1"],"peer":"p"}', True)]
    else:
        assert sent == []
    assert store.shared == (type(store).__name__ == "PostgresStore")


async def test_the_flag_and_an_agents_edit_do_not_overwrite_each_other(store: Store) -> None:
    """The host writes only the flag, and a contact edit leaves the flag alone: each had
    written back every field as its unit read it, so whichever committed second undid
    the other (two instances on PostgreSQL)."""
    ids = await _olga(store)
    host = StoreChannelHost(store, "telegram:a")
    stale = await store.read(lambda tx: tx.get_contact(ids["contact"]))  # an agent's form
    assert stale is not None and not stale.unreachable
    await host.set_unreachable("111", True)  # she blocks the bot meanwhile

    async def rename(tx: Tx) -> None:
        stale.display_name = "Olga Petrova"
        await tx.update_contact(stale)  # the agent saves the form she opened before

    await store.write(rename)
    contact = await store.read(lambda tx: tx.get_contact(ids["contact"]))
    assert contact is not None
    assert (contact.display_name, contact.unreachable) == ("Olga Petrova", True)
    await host.set_unreachable("111", False)
    contact = await store.read(lambda tx: tx.get_contact(ids["contact"]))
    assert contact is not None
    assert (contact.display_name, contact.unreachable) == ("Olga Petrova", False)
