"""The follower: resolutions become one outbox row per CRM, in the customer's lane."""

from __future__ import annotations

import pytest_asyncio

from router.domain.model import Contact, Conversation, Event, OutboxStatus
from router.engine.integrations.crm.adapter import CrmAdapter
from router.engine.integrations.crm.follower import Follower, lane
from router.engine.integrations.crm.settings import HubSpotSettings
from router.store import Store, Tx, utcnow
from router.store.sqlite import SqliteStore


@pytest_asyncio.fixture
async def store(sqlite_store: SqliteStore) -> Store:
    return sqlite_store


def never() -> object:
    raise AssertionError("the follower never calls the CRM")


async def add(store: Store, contact: Contact, kinds: list[str]) -> int:
    now = utcnow()

    async def unit(tx: Tx) -> int:
        cid = await tx.create_contact(contact, now)
        conv = await tx.create_conversation(Conversation(0, cid, "loopback", f"t{cid}",
                                                         created_at=now, updated_at=now))
        for kind in kinds:
            data = {"to": "resolved"} if kind == "status_changed" else {}
            await tx.insert_event(Event(0, kind, now, conv, "agent:bob", data))
        return conv

    return await store.write(unit)


async def test_resolutions_become_rows_and_the_cursor_moves_past_other_events(
        store: Store) -> None:
    await add(store, Contact(0, "Before", email="before@example.se"), ["status_changed"])
    settings = HubSpotSettings(access_token="t", concurrency=3)
    adapter = CrmAdapter(settings=settings, store=store, link_template="",
                         client_factory=never)  # type: ignore[arg-type]
    woken: list[int] = []
    follower = Follower(store, [adapter], notifier=None, wake_outbox=lambda: woken.append(1))
    assert await follower.catch_up() is False  # the first start begins at the newest event
    ulla = await add(store, Contact(0, "Ulla", email="Ulla@example.se"),
                     ["message_received", "status_changed"])
    await add(store, Contact(0, "Anonymous"), ["status_changed"])  # nothing to find it by
    await add(store, Contact(0, "Gone", email="gone@example.se", fields={"erased_at": "x"}),
              ["status_changed"])
    last = await add(store, Contact(0, "Olle", email="olle@example.se"), ["message_received"])
    assert await follower.catch_up() is True
    assert await follower.catch_up() is False
    rows = await store.read(lambda tx: tx.outbox_list([OutboxStatus.PENDING]))
    assert [(r.channel, r.conversation_id, r.thread_key) for r in rows] == [
        ("crm:hubspot", ulla, lane("ulla@example.se", 3))]
    assert rows[0].payload["metadata"]["crm"] == "hubspot" and woken == [1]
    top = await store.read(lambda tx: tx.last_event_id())
    assert await store.write(lambda tx: tx.crm_cursor("hubspot", 0)) == top
    assert last and follower.queued == 1
