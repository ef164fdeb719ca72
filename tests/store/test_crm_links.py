"""CRM sync's store (issue 27) on SQLite and PostgreSQL: cursors and contacts' CRM records."""

from __future__ import annotations

from router.domain.model import Contact
from router.engine.privacy.scrub import PrivacyScrubber
from router.store import Store, Tx, utcnow


async def test_cursor_starts_once_and_moves(store: Store) -> None:
    assert await store.write(lambda tx: tx.crm_cursor("hubspot", 40)) == 40
    assert await store.write(lambda tx: tx.crm_cursor("hubspot", 99)) == 40  # kept

    async def move(tx: Tx) -> int:
        await tx.crm_cursor("hubspot", 0)
        await tx.set_crm_cursor("hubspot", 45)
        return await tx.crm_cursor("salesforce", 7)

    assert await store.write(move) == 7
    assert await store.write(lambda tx: tx.crm_cursor("hubspot", 0)) == 45


async def test_records_are_found_by_contact_email_or_phone_and_erased(store: Store) -> None:
    now = utcnow()

    async def setup(tx: Tx) -> list[int]:
        ids = [await tx.create_contact(Contact(0, "Ulla", email="Ulla@Example.se"), now),
               await tx.create_contact(Contact(0, "Ulla", email="ulla@example.se"), now),
               await tx.create_contact(Contact(0, "Olle", phone="+46701"), now),
               await tx.create_contact(Contact(0, "Olle", phone="+46701"), now)]
        await tx.set_crm_contact("hubspot", ids[0], "101", now)
        await tx.set_crm_contact("hubspot", ids[2], "102", now)
        await tx.set_crm_contact("hubspot", ids[2], "103", now)  # replaced
        return ids

    ulla, ulla2, _olle, olle2 = await store.write(setup)

    async def look(tx: Tx) -> list[str | None]:
        return [await tx.crm_contact("hubspot", ulla2, email="ULLA@example.se"),
                await tx.crm_contact("hubspot", ulla2),  # no address given: its own only
                await tx.crm_contact("hubspot", olle2, phone="+46701"),
                await tx.crm_contact("salesforce", ulla, email="ulla@example.se")]

    assert await store.read(look) == ["101", None, "103", None]
    assert await store.write(lambda tx: tx.forget_crm_contact("hubspot", "103")) == 1
    await store.write(lambda tx: tx.erase_contacts([ulla], now, PrivacyScrubber()))
    assert await store.read(lambda tx: tx.crm_contact("hubspot", ulla)) is None
