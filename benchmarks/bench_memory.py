"""The service's memory on a big store: RSS after opening it and serving the queue page.

A SQLite store with 100,000 conversations and 1,000,000 messages (plus their contacts,
identities, thread keys, inbox keys, outbox rows and events) is written with bulk
`executemany` INSERTs straight into the schema that `SqliteStore.open()` migrated: going
through the pipeline would take many minutes and measure something else. The file is
cached in `benchmarks/.cache/` under a name that includes a hash of the migrations, so a
schema change regenerates it; each run serves a copy, so runs never drift.

`inquiry-router serve` (with the shipped rules, so their compiled form counts too) then
opens the copy, an agent asks for the queue page (`/api/v1/queues` and the first page of
waiting conversations in queue order; `/status` before the agent API existed), and the
process's VmRSS is read from /proc.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks._common import CACHE, Serve, rnd, rss_mb, rules_available, write_config
from router.store.base import ts
from router.store.migrate import migrations
from router.store.sqlite import SqliteStore

MESSAGES_PER_CONVERSATION = 10
QUEUES = ("general", "billing", "support", "sales")
TEXTS = (
    "Hej! Jag har fått en faktura som inte stämmer, kan ni hjälpa mig?",
    "Hei, laskussani on virhe. Voitteko tarkistaa sen?",
    "Hello, I would like a refund for my last order please.",
    "Thanks for your message! We will get back to you within an hour.",
    "Hallo, jeg får ikke logget inn på kontoen min.",
)
AGENT = "benchagent"
TOKEN = "irt_bench" + "x" * 40  # the agent API only accepts its own prefix, irt_


def _schema_hash() -> str:
    digest = hashlib.sha256()
    for migration in migrations("sqlite"):
        digest.update(migration.sql.encode())
    return digest.hexdigest()[:12]


def _insert(conn: sqlite3.Connection, table: str, columns: tuple[str, ...],
            rows: Iterator[tuple[Any, ...]]) -> None:
    marks = ", ".join("?" * len(columns))
    conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def _status(i: int) -> tuple[str, str]:
    """(status, assignee): 20% waiting, 10% assigned, 70% resolved, as a desk looks."""
    kind = i % 10
    if kind < 2:
        return "queued", ""
    if kind == 2:
        return "assigned", AGENT
    return "resolved", ""


def populate(path: Path, conversations: int) -> None:
    """Bulk-fill a freshly migrated store; one transaction, no fsync (a throwaway file)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA foreign_keys=OFF")  # rows are written parents first anyway
    start = datetime(2026, 1, 1, tzinfo=UTC)
    stamp = [ts(start + timedelta(seconds=30 * k)) for k in range(conversations + 20)]
    n = range(1, conversations + 1)
    per = MESSAGES_PER_CONVERSATION
    conn.execute("BEGIN")
    _insert(conn, "contacts", ("id", "display_name", "language", "created_at"),
            ((i, f"Customer {i}", "en", stamp[i]) for i in n))
    _insert(conn, "identities", ("contact_id", "channel", "external_id", "display_name",
                                 "created_at"),
            ((i, "loopback", f"user-{i}", f"Customer {i}", stamp[i]) for i in n))
    conv_cols = ("id", "contact_id", "channel", "thread_key", "recipient", "status", "queue",
                 "assignee", "message_count", "bot_turns", "created_at", "updated_at",
                 "queued_at", "resolved_at", "last_customer_at")
    _insert(conn, "conversations", conv_cols, (
        (i, i, "loopback", f"chat-{i}", f"user-{i}", status, QUEUES[i % len(QUEUES)], assignee,
         per // 2, per // 2, stamp[i], stamp[i + 10], stamp[i + 1],
         stamp[i + 10] if status == "resolved" else None, stamp[i + 9])
        for i in n for status, assignee in [_status(i)]))
    _insert(conn, "thread_keys", ("channel", "key", "conversation_id"),
            (("loopback", f"chat-{i}", i) for i in n))
    # message k of conversation i: even k from the customer, odd k the bot's answer
    _insert(conn, "messages", ("id", "conversation_id", "direction", "author_kind", "author_id",
                               "text", "external_id", "created_at"), (
        ((i - 1) * per + k + 1, i, "in" if k % 2 == 0 else "out",
         "customer" if k % 2 == 0 else "bot", f"user-{i}" if k % 2 == 0 else "faq",
         TEXTS[(i + k) % len(TEXTS)], f"m{i}-{k}" if k % 2 == 0 else "", stamp[i + k])
        for i in n for k in range(per)))
    _insert(conn, "inbox", ("channel", "external_id", "message_id", "received_at"),
            (("loopback", f"m{i}-{k}", (i - 1) * per + k + 1, stamp[i + k])
             for i in n for k in range(0, per, 2)))
    _insert(conn, "outbox", ("idempotency_key", "conversation_id", "message_id", "channel",
                             "thread_key", "recipient", "payload", "status", "attempts",
                             "next_attempt_at", "created_at", "sent_at"), (
        (f"ob-{i}-{k}", i, (i - 1) * per + k + 1, "loopback", f"chat-{i}", f"user-{i}",
         '{"text": "Thanks!"}', "sent", 1, stamp[i + k], stamp[i + k], stamp[i + k])
        for i in n for k in range(1, per, 2)))
    _insert(conn, "events", ("conversation_id", "kind", "actor", "data", "created_at"), (
        (i, kind, "customer", "{}", stamp[i]) for i in n
        for kind in ("conversation_opened", "message_received")))
    if "agents" in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}:
        from router.engine.agents.auth import hash_token

        conn.execute("INSERT INTO agents (name, display_name, role, created_at) "
                     "VALUES (?, 'Bench Agent', 'admin', ?)", (AGENT, stamp[0]))
        agent_id = conn.execute("SELECT id FROM agents WHERE name = ?", (AGENT,)).fetchone()[0]
        conn.execute("INSERT INTO api_tokens (agent_id, token_hash, created_at) VALUES (?, ?, ?)",
                     (agent_id, hash_token(TOKEN), stamp[0]))
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


async def cached_store(conversations: int) -> tuple[Path, float]:
    """The generated store for this schema and size, and the seconds spent generating it."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"memory-{conversations}-{_schema_hash()}.db"
    if path.exists():
        return path, 0.0
    for old in CACHE.glob(f"memory-{conversations}-*.db*"):
        old.unlink()
    started = time.perf_counter()
    partial = path.with_suffix(".partial")
    for leftover in CACHE.glob(partial.name + "*"):
        leftover.unlink()
    store = SqliteStore(partial)
    await store.open()  # migrates: the bulk rows go into the real, current schema
    await store.close()
    await asyncio.to_thread(populate, partial, conversations)
    partial.rename(path)
    return path, time.perf_counter() - started


async def serve_queue_page(port: int) -> tuple[str, float]:
    """Fetch what an agent's queue screen loads; returns (what was served, seconds)."""
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    pages = ("/api/v1/queues", "/api/v1/conversations?status=queued&order=urgency&limit=50")
    started = time.perf_counter()
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.get(base + pages[0]) as resp:
            if resp.status == 404:  # no agent API in this build: the status page then
                async with session.get(base + "/status") as status:
                    status.raise_for_status()
                return "/status", time.perf_counter() - started
            resp.raise_for_status()
            await resp.read()
        async with session.get(base + pages[1]) as resp:
            resp.raise_for_status()
            await resp.read()
    return " ".join(p.split("?")[0] for p in pages), time.perf_counter() - started


async def measure(conversations: int) -> dict[str, Any]:
    cached, generated = await cached_store(conversations)
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        directory = Path(tmp)
        db = directory / "router.db"
        await asyncio.to_thread(shutil.copyfile, cached, db)
        config = write_config(directory, db=db, shipped=rules_available())
        serve = Serve(config, directory / "serve.log")
        await serve.start()
        try:
            idle = rss_mb(serve.pid)
            page, seconds = await serve_queue_page(serve.port)
            rss = rss_mb(serve.pid)
        finally:
            await serve.stop()
    return {"bench": "memory", "conversations": conversations, "rss_mb": rnd(rss),
            "messages": conversations * MESSAGES_PER_CONVERSATION, "rss_idle_mb": rnd(idle),
            "page": page, "page_ms": rnd(seconds * 1000), "generate_s": rnd(generated)}


def run(quick: bool) -> list[dict[str, Any]]:
    return [asyncio.run(measure(1_000 if quick else 100_000))]
