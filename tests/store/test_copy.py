"""`inquiry-router migrate --from sqlite:/// --to postgresql://` copies a store exactly.

A populated SQLite store (conversations, messages in several scripts, thread keys,
events, agents, tokens, outbox rows in every state) goes to PostgreSQL and back to a
second SQLite file; every table of the two SQLite files is then identical row for row,
the PostgreSQL copy reads back as the same domain objects, and its sequences continue
after the copied ids.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from router.domain.model import Agent, Contact, InboundMessage, OutboxStatus, Sender
from router.engine.agents.auth import issue_token
from router.engine.pipeline import Pipeline
from router.store import Store, Tx, utcnow
from router.store.copy import TABLES
from router.store.postgres import PostgresStore
from router.store.sqlite import SqliteStore
from tests.conftest import echo_decide

TEXTS = ("Hej! Fakturan stämmer inte", "Добрий день", "退款 please", "emoji 🎉 'quotes' \"x\"")


async def populate(path: Path) -> None:
    store = SqliteStore(path)
    await store.open()
    pipeline = Pipeline(store, lambda: echo_decide)
    for i in range(120):
        await pipeline.ingest(InboundMessage(
            "loopback", f"m{i}", f"t{i % 17}", Sender(f"u{i % 17}", display_name=f"User {i % 17}"),
            TEXTS[i % len(TEXTS)], utcnow(), raw={"i": i, "nested": {"ok": True}}))
    now = utcnow()

    async def unit(tx: Tx) -> None:
        await tx.upsert_agent(Agent(0, "ann", "Ann", "ann@example.com", languages=["sv"]), now)
        await issue_token(tx, "ann", now, "laptop")
        rows = await tx.outbox_lease(now, now + timedelta(seconds=60), 5)
        await tx.outbox_sent(rows[0].id, "ext-0", now)
        await tx.outbox_give_up(rows[1].id, OutboxStatus.DEAD, "gone")
        await tx.set_agent_password("ann", "$argon2id$fake")

    await store.write(unit)
    await store.close()


def migrate(source: str, target: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "router", "migrate", "--from", source,
                           "--to", target, *extra], capture_output=True, text=True, check=False)


def dump(path: Path) -> dict[str, list[tuple[object, ...]]]:
    db = sqlite3.connect(path)
    try:
        return {t: db.execute(f"SELECT * FROM {t} ORDER BY {key}").fetchall() for t, key in TABLES}
    finally:
        db.close()


async def snapshot(store: Store) -> tuple[object, ...]:
    async def unit(tx: Tx) -> tuple[object, ...]:
        convs = await tx.get_conversations(list(range(1, 40)))
        messages = [await tx.list_messages(c.id) for c in convs]
        return (sorted(convs, key=lambda c: c.id), messages, await tx.list_events(limit=5000),
                await tx.outbox_list(list(OutboxStatus), 1000), await tx.list_agents(),
                await tx.find_agent_login("ann@example.com"))

    return await store.read(unit)


async def test_sqlite_to_postgres_and_back_is_exact(tmp_path: Path, pg_url: str):
    original = tmp_path / "router.db"
    await populate(original)
    done = migrate(f"sqlite:///{original}", pg_url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "counts and checksums match" in done.stdout
    assert "events:" in done.stderr  # progress went to stderr

    refused = migrate(f"sqlite:///{original}", pg_url)
    assert refused.returncode == 1 and "--force" in refused.stdout
    assert migrate(f"sqlite:///{original}", pg_url, "--force").returncode == 0

    back = tmp_path / "back.db"
    done = migrate(pg_url, f"sqlite:///{back}")
    assert done.returncode == 0, done.stdout + done.stderr
    before, after = dump(original), dump(back)
    assert {t: len(r) for t, r in before.items()} == {t: len(r) for t, r in after.items()}
    assert before == after
    assert len(before["messages"]) == 240 and len(before["api_tokens"]) == 1

    lite, pg = SqliteStore(original), PostgresStore(pg_url)
    await lite.open()
    await pg.open()
    try:
        assert await snapshot(pg) == await snapshot(lite)
        new_id = await pg.write(lambda tx: tx.create_contact(Contact(0, "after"), utcnow()))
        assert new_id == len(before["contacts"]) + 1  # the sequence continues after the copy
    finally:
        await lite.close()
        await pg.close()
