"""The `meta` action: bot state set on the conversation, durable with the decision."""

from __future__ import annotations

from datetime import UTC, datetime

from router.domain.model import Action, Contact, Conversation
from router.engine.effects import apply_actions
from router.store.sqlite import SqliteStore


async def test_meta_action_updates_conversation_metadata_and_is_stored(tmp_path):
    store = SqliteStore(tmp_path / "router.db")
    await store.open()
    now = datetime.now(UTC)

    async def work(tx):
        contact = Contact(0, display_name="Ulla")
        contact.id = await tx.create_contact(contact, now)
        conv = Conversation(0, contact.id, "loopback", "t1", created_at=now, updated_at=now,
                            metadata={"other": 1})
        conv.id = await tx.create_conversation(conv)
        applied = await apply_actions(tx, conv, contact, [
            Action("meta", {"bots.failures": 2, "bots.csat": {"rated": 4}}, source="bots")],
            now, default_queue="general")
        await tx.save_conversation(conv, now)
        return conv.id, applied

    conv_id, applied = await store.write(work)
    stored = await store.read(lambda tx: tx.get_conversation(conv_id))
    await store.close()
    assert applied.changed and applied.events == ["meta"]
    assert stored.metadata == {"other": 1, "bots.failures": 2, "bots.csat": {"rated": 4}}
    assert stored.view().metadata["bots.failures"] == 2
