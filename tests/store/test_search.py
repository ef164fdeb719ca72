"""Search (issue 24) on SQLite (FTS5) and PostgreSQL (tsvector): the `store` fixture runs
every test on both. The indexes are kept by triggers, so each write path is checked
through the store's own methods: inserts, edits, contact changes, identities, deletes."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg

from router.domain.model import AuthorKind, Contact, Conversation, Direction, Identity, Message, Status
from router.store import Store, Tx, ts, utcnow
from router.store.migrate import migrations, split_statements
from router.store.postgres import PostgresStore
from router.store.sql_search import SearchQuery, SqlSearch, fts5_match, pg_message_match, pg_tsquery
from router.store.sqlite import SqliteStore
from tests.store.pg import fresh_schema, store_url

NOW = utcnow()
TEXTS = ("Hej! Jag har en fråga.", "Det gäller min beställning från mars.",
         "Fakturorna stämmer inte, beloppet är fel.")


async def seed(store: Store, *, name: str = "Ulla Åberg", email: str = "ulla@example.se",
               phone: str = "+46 70-123 45 67", texts: tuple[str, ...] = TEXTS,
               language: str = "sv", channel: str = "webchat", **conv: Any) -> tuple[int, list[int]]:
    """A contact with an identity and a conversation holding `texts`; (conv id, message ids)."""

    async def unit(tx: Tx) -> tuple[int, list[int]]:
        contact = await tx.create_contact(Contact(0, name, email=email, phone=phone), NOW)
        await tx.create_identity(Identity(0, contact, channel, f"v_{contact}x{name[:3]}"), NOW)
        cid = await tx.create_conversation(Conversation(
            0, contact, channel, f"t{contact}", created_at=NOW, updated_at=NOW, **conv))
        ids = []
        for i, text in enumerate(texts):
            ids.append(await tx.insert_message(Message(
                0, cid, Direction.INBOUND, AuthorKind.CUSTOMER, text, NOW + timedelta(seconds=i))))
        # the language is decided after the first message was stored, as in the pipeline
        found = await tx.get_conversation(cid)
        assert found is not None
        found.language = language
        await tx.save_conversation(found, NOW)
        return cid, ids

    return await store.write(unit)


async def find(store: Store, **kw: Any) -> list[tuple[int, int | None, bool]]:
    async def unit(tx: Tx) -> Any:
        assert isinstance(tx, SqlSearch)
        return await tx.search_conversations(SearchQuery(**kw), 50)

    return [(h.conversation.id, h.message_id, h.by_contact) for h in await store.read(unit)]


async def test_a_word_of_the_third_message_the_email_and_identities_find_it(store: Store):
    cid, ids = await seed(store)
    other, _ = await seed(store, name="Olle Ek", email="olle@example.com", phone="",
                          texts=("Hello, where is my parcel?",), language="en")
    assert await find(store, terms=("beloppet",)) == [(cid, ids[2], False)]
    assert await find(store, terms=("belo",)) == [(cid, ids[2], False)]  # a prefix
    assert await find(store, terms=("ulla", "example", "se")) == [(cid, None, True)]  # the email
    assert await find(store, terms=("aberg",)) == [(cid, None, True)]  # Åberg, folded
    assert await find(store, terms=("olle",)) == [(other, None, True)]
    assert await find(store, terms=("parcel",)) == [(other, ids[2] + 1, False)]
    # the channel identity (a web chat visitor id), the phone in the forms people type
    assert await find(store, terms=("v", f"{cid}xull")) == [(cid, None, True)]
    assert await find(store, phone="701234567") == [(cid, None, True)]
    assert await find(store, phone="46701234567") == [(cid, None, True)]
    assert await find(store, terms=("nothing",)) == []
    # several words must all be in one message
    assert await find(store, terms=("fakturorna", "mars")) == []
    assert await find(store, conversation_id=other) == [(other, None, False)]


async def test_a_new_contacts_document_is_built_once_with_its_identity(store: Store):
    """Migration 0020: the pipeline writes a contact and its identity in one unit, and two
    triggers had built the document twice (on SQLite each wrote an FTS5 segment: 8 % of
    the service's CPU at 800 new Telegram conversations a second, issue 28)."""
    contacts = []
    for i in range(3):
        contacts.append(await store.write(lambda tx, i=i: tx.create_contact(
            Contact(0, f"Kalle {i} Anka", email=f"kalle{i}@example.fi"), NOW,
            Identity(0, 0, "telegram", f"tg424{i}", f"kalleanka{i}", "Kalle A"))))
    cids = [await store.write(lambda tx, c=c: tx.create_conversation(Conversation(
        0, c, "telegram", f"t{c}", created_at=NOW, updated_at=NOW))) for c in contacts]
    assert await find(store, terms=("kalleanka1",)) == [(cids[1], None, True)]  # identity
    assert await find(store, terms=("tg4242",)) == [(cids[2], None, True)]
    assert await find(store, terms=("kalle0", "example")) == [(cids[0], None, True)]  # email
    if isinstance(store, PostgresStore):  # a row updated after its insert moves on in its page
        async with store._acquire() as conn:
            places = await conn.fetch("SELECT ctid::text FROM contact_search ORDER BY contact_id")
        assert [p[0] for p in places] == ["(0,1)", "(0,2)", "(0,3)"]
    else:  # one FTS5 segment per unit, besides the index's two records of its own
        db = sqlite3.connect(store.path)  # type: ignore[attr-defined]
        try:
            assert db.execute("SELECT count(*) FROM contacts_fts_data").fetchone()[0] <= 2 + 3
        finally:
            db.close()


async def test_contacts_created_in_one_unit_write_one_fts5_segment(store: Store):
    """Issue 28: indexing a contact with INSERT ... SELECT opened a statement savepoint, at
    which FTS5 wrote its pending terms out: a segment per new contact of a commit, not
    one per commit."""
    async def three(tx: Tx) -> list[int]:
        return [await tx.create_contact(
            Contact(0, f"Greta {i}"), NOW, Identity(0, 0, "telegram", f"tg77{i}", "", ""))
            for i in range(3)]

    cids = await store.write(three)
    for i, cid in enumerate(cids):
        conversation = await store.write(lambda tx, c=cid: tx.create_conversation(
            Conversation(0, c, "telegram", f"g{c}", created_at=NOW, updated_at=NOW)))
        assert await find(store, terms=(f"tg77{i}",)) == [(conversation, None, True)]
    if isinstance(store, PostgresStore):
        return  # no segments there; the search above is the check
    db = sqlite3.connect(store.path)  # type: ignore[attr-defined]
    try:  # the index's two records of its own and one segment
        assert db.execute("SELECT count(*) FROM contacts_fts_data").fetchone()[0] == 2 + 1
    finally:
        db.close()


async def test_a_new_messages_document_is_built_once_in_its_conversations_language(
        store: Store):
    """Migration 0020 on PostgreSQL: the messages of a new conversation are stored before
    the rules decide its language; their documents are built at COMMIT, once, stemmed in
    that language (they had been built as 'simple', then again)."""
    cid, ids = await seed(store)
    assert await find(store, terms=("beloppet",)) == [(cid, ids[2], False)]
    if isinstance(store, PostgresStore):
        # "fakturan" finds "Fakturorna" by its Swedish stem
        assert await find(store, terms=("fakturan",)) == [(cid, ids[2], False)]
        async with store._acquire() as conn:
            places = await conn.fetch("SELECT ctid::text FROM message_search ORDER BY message_id")
        assert [p[0] for p in places] == ["(0,1)", "(0,2)", "(0,3)"]

        async def gone(tx: Tx) -> None:  # stored and deleted by one unit: nothing indexed
            cid = await tx.create_conversation(Conversation(
                0, 1, "webchat", "gone", created_at=NOW, updated_at=NOW))
            mid = await tx.insert_message(Message(
                0, cid, Direction.INBOUND, AuthorKind.CUSTOMER, "tillfälligt", NOW))
            await tx.delete_conversations([cid])
            assert mid

        await store.write(gone)
        assert await find(store, terms=("tillfälligt",)) == []
        async with store._acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM message_search") == 3


async def test_language_aware_on_postgresql_prefixes_everywhere(store: Store):
    cid, ids = await seed(store)
    # "fakturan" and "fakturorna" share a Swedish stem; SQLite has prefixes only
    pg = isinstance(store, PostgresStore)
    assert await find(store, terms=("fakturan",)) == ([(cid, ids[2], False)] if pg else [])
    assert await find(store, terms=("faktur",)) == [(cid, ids[2], False)]
    # SQLite folds diacritics in message text too; PostgreSQL's stemmers need them
    assert await find(store, terms=("fraga",)) == ([] if pg else [(cid, ids[0], False)])
    assert await find(store, terms=("fråga",)) == [(cid, ids[0], False)]


async def test_filters_order_and_keyset(store: Store):
    a, _ = await seed(store, status=Status.QUEUED, queue="billing", tags=["vip", "refund"])
    b, _ = await seed(store, name="Bo", email="bo@example.se", status=Status.ASSIGNED,
                      assignee="anna", queue="general", channel="email", priority="urgent")
    c, _ = await seed(store, name="Cy", email="cy@example.se", status=Status.RESOLVED,
                      language="fi", snoozed_until=None)
    d, _ = await seed(store, name="Di", email="di@example.se", status=Status.QUEUED,
                      queue="billing", snoozed_until=NOW + timedelta(hours=1),
                      channel="slack:T1")
    every = ("beloppet",)
    assert [h[0] for h in await find(store, terms=every)] == [d, c, b, a]  # newest first
    assert [h[0] for h in await find(store, terms=every, statuses=("queued",))] == [d, a]
    assert [h[0] for h in await find(store, terms=every, tags=("vip",))] == [a]
    assert [h[0] for h in await find(store, tags=("vip", "refund"))] == [a]
    assert await find(store, tags=("vi",)) == []  # a whole tag
    assert [h[0] for h in await find(store, assignee="anna")] == [b]
    assert [h[0] for h in await find(store, terms=every, assignee="")] == [d, c, a]
    assert [h[0] for h in await find(store, channels=("email",))] == [b]
    assert [h[0] for h in await find(store, channels=("slack",))] == [d]
    assert [h[0] for h in await find(store, languages=("fi",))] == [c]
    assert [h[0] for h in await find(store, queues=("billing",), snoozed=False)] == [a]
    assert [h[0] for h in await find(store, snoozed=True)] == [d]
    assert await find(store, since=NOW + timedelta(days=1)) == []
    assert await find(store, until=NOW - timedelta(days=1)) == []
    assert len(await find(store, since=NOW - timedelta(days=1), until=NOW + timedelta(days=1))) == 4
    # urgency: priority first, then age; a keyset continues after the last row seen
    urgent = await store.read(lambda tx: tx.search_conversations(  # type: ignore[attr-defined]
        SearchQuery(order="urgency"), 2))
    assert [h.conversation.id for h in urgent] == [b, a]
    from router.store.base import urgency_key

    rest = await find(store, order="urgency", after=urgency_key(urgent[-1].conversation))
    assert [h[0] for h in rest] == [c, d]
    page = await find(store, after=(rest[0] and NOW.isoformat(), 0))
    assert page == []  # a keyset of the wrong shape or past everything finds nothing
    count = await store.read(lambda tx: tx.count_conversations_matching(  # type: ignore[attr-defined]
        SearchQuery(terms=every, statuses=("queued", "assigned")), 1000))
    assert count == 3


async def test_mentions_in_internal_notes(store: Store):
    a, _ = await seed(store)
    b, _ = await seed(store, name="Bo", email="bo@example.se")

    async def note(tx: Tx, cid: int, text: str, internal: bool = True) -> int:
        return await tx.insert_message(Message(0, cid, Direction.OUTBOUND, AuthorKind.AGENT, text,
                                               NOW, author_id="olle", internal=internal))

    await store.write(lambda tx: note(tx, a, "@Anna kan du titta på det här?"))
    await store.write(lambda tx: note(tx, b, "Skrev till @anna via mejl", internal=False))
    assert [h[0] for h in await find(store, mentions="anna")] == [a]
    assert await find(store, mentions="olle") == []


async def test_the_index_follows_edits_contact_changes_and_deletes(store: Store):
    cid, ids = await seed(store)
    await store.write(lambda tx: tx.edit_message(ids[2], "Summan är rätt nu.", NOW))
    assert await find(store, terms=("beloppet",)) == []
    assert await find(store, terms=("summan",)) == [(cid, ids[2], False)]

    async def rename(tx: Tx) -> None:
        contact = await tx.get_contact((await tx.get_conversation(cid)).contact_id)  # type: ignore[union-attr]
        assert contact is not None
        contact.display_name, contact.email = "Ulla Berg", "ulla.berg@firma.fi"
        await tx.update_contact(contact)
        await tx.create_identity(Identity(0, contact.id, "telegram", "424242", "ullab"), NOW)

    await store.write(rename)
    assert await find(store, terms=("example",)) == []
    assert await find(store, terms=("firma",)) == [(cid, None, True)]
    assert await find(store, terms=("ullab",)) == [(cid, None, True)]
    assert await find(store, terms=("424242",)) == [(cid, None, True)]
    assert await store.write(lambda tx: tx.delete_conversations([cid])) == 1
    assert await find(store, terms=("summan",)) == []


async def test_list_rows_contacts_tags_and_saved_views(store: Store):
    cid, ids = await seed(store, status=Status.QUEUED, tags=["vip"])
    await store.write(lambda tx: tx.insert_message(Message(
        0, cid, Direction.OUTBOUND, AuthorKind.AGENT, "a note", NOW, internal=True)))
    rows = await store.read(lambda tx: tx.conversation_rows([(cid, ids[1])]))  # type: ignore[attr-defined]
    row = rows[cid]
    assert (row.contact.display_name, row.contact.email) == ("Ulla Åberg", "ulla@example.se")
    assert (row.last_text, row.last_author, row.last_internal) == (TEXTS[2], "customer", False)
    assert row.matched_text == TEXTS[1]
    assert await store.read(lambda tx: tx.open_tags()) == [("vip", 1)]  # type: ignore[attr-defined]
    people = await store.read(lambda tx: tx.search_contacts(("ulla",)))  # type: ignore[attr-defined]
    assert [p.email for p in people] == ["ulla@example.se"]

    agent_id = await store.write(lambda tx: tx.upsert_agent(
        __import__("router.domain.model", fromlist=["Agent"]).Agent(0, "anna"), NOW))
    first = await store.write(lambda tx: tx.save_view(agent_id, "VIP", {"tag": "vip"}, NOW))  # type: ignore[attr-defined]
    again = await store.write(lambda tx: tx.save_view(agent_id, "VIP", {}, NOW))  # type: ignore[attr-defined]
    assert first and again is None
    views = await store.read(lambda tx: tx.list_saved_views(agent_id))  # type: ignore[attr-defined]
    assert [(v.name, v.filters) for v in views] == [("VIP", {"tag": "vip"})]
    assert await store.write(lambda tx: tx.delete_saved_view(agent_id + 1, first)) is False  # type: ignore[attr-defined]
    assert await store.write(lambda tx: tx.delete_saved_view(agent_id, first)) is True  # type: ignore[attr-defined]


def test_query_strings_are_built_from_words_only() -> None:
    assert fts5_match(("ulla", "a")) == '"ulla"* AND "a"'
    assert fts5_match(("ulla",), "46701234567") == '("ulla"*) OR "46701234567"* OR "701234567"*'
    assert pg_tsquery(("ulla", "a")) == "'ulla':* & 'a'"
    assert pg_tsquery((), "7012") == "'7012':*"
    sql, params = pg_message_match(("fakturan", "a"))
    assert sql.count("to_tsquery('swedish', ?)") == 2 and " && " in sql
    assert params[:5] == ["'fakturan'"] * 4 + ["'fakturan':*"] and params[-1] == "'a'"


async def _sqlite_at(path: Path, version: int) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                 "applied_at TEXT NOT NULL)")
    for m in migrations("sqlite"):
        if m.version <= version:
            for statement in split_statements(m.sql):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations VALUES (?, ?, 'x')", (m.version, m.name))
    conn.close()


async def test_the_migration_indexes_what_was_stored_before_it(tmp_path: Path) -> None:
    """Rows written at schema 12 are found once 0013 ran, on both backends."""
    path = tmp_path / "old.db"
    await _sqlite_at(path, 12)
    conn = sqlite3.connect(path)
    _old_rows(conn.execute)
    conn.commit()
    conn.close()
    lite = SqliteStore(path)
    await lite.open()
    try:
        assert await find(lite, terms=("beloppet",)) == [(1, 3, False)]
        assert await find(lite, terms=("ulla",)) == [(1, None, True)]
    finally:
        await lite.close()

    async with fresh_schema() as (url, schema):
        pg = await asyncpg.connect(url, server_settings={"search_path": schema})
        try:
            await pg.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
                             "name TEXT NOT NULL, applied_at TEXT NOT NULL)")
            for m in migrations("postgresql"):
                if m.version <= 12:
                    for statement in split_statements(m.sql):
                        await pg.execute(statement)
                    await pg.execute("INSERT INTO schema_migrations VALUES ($1, $2, 'x')",
                                     m.version, m.name)
            statements: list[tuple[str, tuple[Any, ...]]] = []
            _old_rows(lambda sql, params: statements.append((sql, params)))
            for sql, params in statements:
                from router.store.postgres_tx import to_dollar

                await pg.execute(to_dollar(sql), *params)
        finally:
            await pg.close()
        store = PostgresStore(store_url(url, schema))
        await store.open()
        try:
            assert await find(store, terms=("fakturan",)) == [(1, 3, False)]  # stemmed in sv
            assert await find(store, terms=("ulla",)) == [(1, None, True)]
        finally:
            await store.close()


def _old_rows(execute: Any) -> None:
    stamp = ts(NOW)
    execute("INSERT INTO contacts (id, display_name, email, created_at) VALUES (?, ?, ?, ?)",
            (1, "Ulla", "ulla@example.se", stamp))
    execute("INSERT INTO conversations (id, contact_id, channel, thread_key, status, language, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (1, 1, "webchat", "t1", "queued", "sv", stamp, stamp))
    for i, text in enumerate(TEXTS, 1):
        execute("INSERT INTO messages (id, conversation_id, direction, author_kind, text, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?)", (i, 1, "in", "customer", text, stamp))


def test_migrations_per_backend_and_statements_with_bodies() -> None:
    lite = {m.version: m.name for m in migrations("sqlite")}
    pg = {m.version: m.name for m in migrations("postgresql")}
    assert lite[13] == pg[13] == "0013_search"  # one version, one file per backend
    sql = ("CREATE TABLE a (x INT);\n-- a comment; with a semicolon\n"
           "CREATE TRIGGER t AFTER INSERT ON a WHEN new.x > 0 BEGIN\n"
           "  INSERT INTO b VALUES (CASE WHEN new.x > 1 THEN 2 ELSE 1 END);\n"
           "  DELETE FROM c;\nEND;\n"
           "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
           "  DELETE FROM c; RETURN NULL;\nEND\n$$;\nSELECT 1")
    assert [s.split()[1] for s in split_statements(sql)] == ["TABLE", "TRIGGER", "FUNCTION", "1"]
    assert split_statements(sql)[1].endswith("END")


async def test_a_copied_store_is_searchable(tmp_path: Path, pg_url: str) -> None:
    """migrate --from/--to: messages copied in bulk are indexed on either target."""
    from router.store.copy import copy_store

    source = SqliteStore(tmp_path / "a.db")
    await source.open()
    try:
        cid, ids = await seed(source)

        async def lone(tx: Tx) -> int:  # a contact without an identity (migration 0020)
            contact = await tx.create_contact(Contact(0, "Greta Lind"), NOW)
            return await tx.create_conversation(Conversation(
                0, contact, "email", "greta", created_at=NOW, updated_at=NOW))

        greta = await source.write(lone)
    finally:
        await source.close()
    for target_url in (f"sqlite:///{tmp_path / 'b.db'}", pg_url):
        reports = await copy_store(f"sqlite:///{tmp_path / 'a.db'}", target_url)
        assert all(r.ok for r in reports)
        target = SqliteStore(tmp_path / "b.db") if target_url.startswith("sqlite") \
            else PostgresStore(target_url)
        await target.open()
        try:
            assert await find(target, terms=("beloppet",)) == [(cid, ids[2], False)]
            assert await find(target, terms=("ulla",)) == [(cid, None, True)]
            assert await find(target, terms=("greta",)) == [(greta, None, True)]
        finally:
            await target.close()
