"""Search (issue 24): `GET /api/v1/search` latency over 100,000 messages, SQLite and PostgreSQL.

A store with 10,000 conversations of 10 messages each (customers and the bot, in Swedish,
Finnish, Norwegian, Ukrainian and English, every conversation with an order number and
every contact with a name, an email and a phone) is written with bulk INSERTs straight
into the migrated schema and indexed as production indexes it (migration 0013: FTS5 on
SQLite, tsvector in the conversation's language on PostgreSQL). `inquiry-router serve`
then answers an agent's searches one after another, over HTTP with a token, as the
console's box sends them: a rare word (an order number), common words (thousands of
hits), prefixes, two words, a contact's email, name and phone, and words with a status
filter. Reported: p50, p95, p99 and the slowest of the answers, each one the whole
request (search and its total, list rows, matched excerpts, JSON).

PostgreSQL runs against `ROUTER_BENCH_PG` (default postgresql://root@127.0.0.1:5432/test)
in a fresh schema, dropped afterwards; without a server its row is left out. `--quick`:
2,000 messages, SQLite only.
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import asyncpg
import yaml

from benchmarks._common import Serve, percentile, rnd, write_config
from router.engine.agents.auth import hash_token
from router.store.base import ts
from router.store.postgres import PostgresStore
from router.store.sql_search import SQLITE_INDEX_ALL
from router.store.sqlite import SqliteStore

PG = os.environ.get("ROUTER_BENCH_PG", "postgresql://root@127.0.0.1:5432/test")
PER_CONVERSATION = 10
TOKEN = "irt_bench" + "s" * 40  # the agent API takes its own prefix, irt_
LANGUAGES = ("sv", "fi", "nb", "uk", "en")
CUSTOMER = {
    "sv": ("Hej! Jag har fått en faktura som inte stämmer, kan ni hjälpa mig?",
           "Min beställning har inte kommit fram än, var är paketet?",
           "Jag vill säga upp mitt abonnemang från nästa månad.",
           "Kan jag få pengarna tillbaka för den trasiga varan?"),
    "fi": ("Hei, laskussani on virhe. Voitteko tarkistaa sen?",
           "Tilaukseni ei ole vielä saapunut, missä paketti on?",
           "Haluan irtisanoa tilaukseni ensi kuusta alkaen."),
    "nb": ("Hallo, jeg får ikke logget inn på kontoen min.",
           "Fakturaen min er feil, kan dere sjekke den?",
           "Når kommer pakken min? Den skulle vært her i går."),
    "uk": ("Добрий день! Де мій рахунок за березень?",
           "Моє замовлення ще не прийшло, де посилка?"),
    "en": ("Hello, I would like a refund for my last order please.",
           "Can I talk to a human? The app keeps crashing on start.",
           "What are your opening hours during the holidays?",
           "Do you offer discounts for non-profits? We are looking for a quote."),
}
BOT = ("Tack för att du hör av dig! Vi återkommer inom en timme.",
       "Kiitos viestistäsi! Palaamme asiaan tunnin sisällä.",
       "Thanks for your message! We will get back to you within an hour.")
FIRST = ("Anna", "Bo", "Cecilia", "David", "Eeva", "Frida", "Gustav", "Hanna", "Ivan", "Johanna",
         "Kalle", "Liisa", "Mikael", "Nora", "Olle", "Pekka", "Sofia", "Tuomas", "Ulla", "Viktor")
LAST = ("Andersson", "Berg", "Korhonen", "Nieminen", "Hansen", "Johansen", "Lindqvist",
        "Virtanen", "Shevchenko", "Smith", "Åberg", "Öberg", "Mäkinen", "Olsen", "Brown")
STATUSES = ("queued", "assigned", "resolved", "resolved", "resolved", "bot")


def _rows(conversations: int) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """(table, row) in insertion order: contacts, identities, conversations, messages."""
    rnd_ = random.Random(24)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(1, conversations + 1):
        stamp = start + timedelta(minutes=5 * i)
        name = f"{rnd_.choice(FIRST)} {rnd_.choice(LAST)}"
        email = f"customer{i}@example.com"
        phone = f"+46 70-{i % 1000:03d} {i % 97:02d} {i % 89:02d}"
        lang, status = LANGUAGES[i % len(LANGUAGES)], STATUSES[i % len(STATUSES)]
        yield "contacts", (i, name, email, phone, lang, ts(stamp))
        yield "identities", (i, i, "loopback", f"user-{i}", name, ts(stamp))
        yield "conversations", (i, i, "loopback", f"chat-{i}", status, lang, "general",
                                ts(stamp), ts(stamp + timedelta(minutes=30)),
                                "bench" if status == "assigned" else "")
        for k in range(PER_CONVERSATION):
            mid = (i - 1) * PER_CONVERSATION + k + 1
            if k % 2 == 0:
                text = rnd_.choice(CUSTOMER[lang])
                if k == 2:  # the third message names the order
                    text += f" Order A{100000 + i}."
                author = "customer"
            else:
                text, author = rnd_.choice(BOT), "bot"
            yield "messages", (mid, i, "in" if author == "customer" else "out", author, text,
                               ts(stamp + timedelta(seconds=30 * k)))


COLUMNS = {
    "contacts": ("id", "display_name", "email", "phone", "language", "created_at"),
    "identities": ("id", "contact_id", "channel", "external_id", "display_name", "created_at"),
    "conversations": ("id", "contact_id", "channel", "thread_key", "status", "language", "queue",
                      "created_at", "updated_at", "assignee"),
    "messages": ("id", "conversation_id", "direction", "author_kind", "text", "created_at"),
}


def _grouped(conversations: int) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {t: [] for t in COLUMNS}
    for table, row in _rows(conversations):
        out[table].append(row)
    return out


def _populate_sqlite(path: Path, conversations: int) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("BEGIN")
    for table, rows in _grouped(conversations).items():
        cols = COLUMNS[table]
        conn.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES "
                         f"({', '.join('?' * len(cols))})", rows)
    _agent_sqlite(conn)
    conn.execute(SQLITE_INDEX_ALL)  # what the store's insert does for each new message
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def _agent_sqlite(conn: sqlite3.Connection) -> None:
    conn.execute("INSERT INTO agents (name, display_name, role, created_at) VALUES "
                 "('bench', 'Bench Agent', 'admin', '2026-01-01T00:00:00.000000Z')")
    conn.execute("INSERT INTO api_tokens (agent_id, token_hash, created_at) VALUES "
                 "(1, ?, '2026-01-01T00:00:00.000000Z')", (hash_token(TOKEN),))


async def _populate_pg(url: str, conversations: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        for table, rows in _grouped(conversations).items():
            await conn.copy_records_to_table(table, records=rows, columns=list(COLUMNS[table]))
        await conn.execute("INSERT INTO agents (id, name, display_name, role, created_at) VALUES "
                           "(1, 'bench', 'Bench Agent', 'admin', '2026-01-01T00:00:00.000000Z')")
        await conn.execute("INSERT INTO api_tokens (agent_id, token_hash, created_at) VALUES "
                           "(1, $1, '2026-01-01T00:00:00.000000Z')", hash_token(TOKEN))
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


def _phone(i: int) -> str:
    """Contact i's number as a Swedish agent types it (stored as +46 70-...)."""
    return f"070-{i % 1000:03d} {i % 97:02d} {i % 89:02d}"


def queries(conversations: int, count: int) -> list[str]:
    """What agents type, in a fixed mix (query strings for /api/v1/search)."""
    rnd_ = random.Random(7)
    made: list[str] = []
    kinds: list[Callable[[], str]] = [
        lambda: f"q=A{100000 + rnd_.randint(1, conversations)}",  # an order number: few hits
        lambda: "q=" + quote(rnd_.choice(("faktura", "paketet", "refund", "laskussani",
                                          "pakken", "рахунок"))),  # common words
        lambda: "q=" + quote(rnd_.choice(("fakt", "beställ", "tilau", "disc", "abon"))),  # prefixes
        lambda: "q=" + quote(rnd_.choice(("refund order", "säga upp", "logget inn",
                                          "opening hours"))),
        lambda: "q=" + quote(f"customer{rnd_.randint(1, conversations)}@example.com"),
        lambda: "q=" + quote(f"{rnd_.choice(FIRST)} {rnd_.choice(LAST)}"),
        lambda: "q=" + quote(_phone(rnd_.randint(1, conversations))),
        lambda: "q=" + quote(rnd_.choice(("faktura", "order", "paketti"))) + "&status=queued",
    ]
    while len(made) < count:
        made.append(kinds[len(made) % len(kinds)]())
    return made


async def _measure(port: int, searches: list[str]) -> list[float]:
    base = f"http://127.0.0.1:{port}/api/v1/search?"
    took: list[float] = []
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        for query in searches[:10]:  # warm-up: caches, prepared statements
            async with http.get(base + query) as r:
                r.raise_for_status()
                await r.read()
        for query in searches:
            started = time.perf_counter()
            async with http.get(base + query) as r:
                r.raise_for_status()
                await r.read()
            took.append(time.perf_counter() - started)
    return took


def _row(backend: str, conversations: int, took: list[float], populate_s: float) -> dict[str, Any]:
    ms = sorted(t * 1000 for t in took)
    return {"bench": "search", "backend": backend, "messages": conversations * PER_CONVERSATION,
            "queries": len(ms), "p50_ms": rnd(percentile(ms, 50)), "p95_ms": rnd(percentile(ms, 95)),
            "p99_ms": rnd(percentile(ms, 99)), "max_ms": rnd(ms[-1]), "populate_s": rnd(populate_s)}


async def _serve(directory: Path, storage: dict[str, Any] | None, db: Path,
                 run: Callable[[int], Awaitable[list[float]]]) -> list[float]:
    path = write_config(directory, db=db)
    if storage is not None:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data["storage"] = storage
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
    serve = Serve(path, directory / "serve.log")
    await serve.start()
    try:
        return await run(serve.port)
    finally:
        await serve.stop()


async def sqlite_round(conversations: int, searches: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
        directory = Path(tmp)
        db = directory / "router.db"
        started = time.perf_counter()
        store = SqliteStore(db)
        await store.open()  # migrates: the rows go into the real schema, triggers and all
        await store.close()
        await asyncio.to_thread(_populate_sqlite, db, conversations)
        populated = time.perf_counter() - started
        took = await _serve(directory, None, db, lambda port: _measure(port, searches))
    return _row("sqlite", conversations, took, populated)


async def postgres_round(conversations: int, searches: list[str]) -> dict[str, Any] | None:
    try:
        admin = await asyncpg.connect(PG, timeout=5)
    except (OSError, asyncpg.PostgresError):
        return None
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    await admin.execute(f"CREATE SCHEMA {schema}")
    url = f"{PG}?search_path={schema}"
    try:
        started = time.perf_counter()
        store = PostgresStore(url)
        await store.open()
        await store.close()
        await _populate_pg(url, conversations)
        populated = time.perf_counter() - started
        with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
            directory = Path(tmp)
            took = await _serve(directory, {"url": url}, directory / "unused.db",
                                lambda port: _measure(port, searches))
    finally:
        await admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await admin.close()
    return _row("postgresql", conversations, took, populated)


async def _all(quick: bool) -> list[dict[str, Any]]:
    conversations = 200 if quick else 10_000
    searches = queries(conversations, 24 if quick else 160)
    rows = [await sqlite_round(conversations, searches)]
    if not quick:
        pg = await postgres_round(conversations, searches)
        if pg is not None:
            rows.append(pg)
    return rows


def run(quick: bool = False) -> list[dict[str, Any]]:
    return asyncio.run(_all(quick))
