"""Thread identity that proves itself: reply tokens nobody can steer (issue 23).

On the pipeline with both stores (SQLite, PostgreSQL): a token is pinned to the
conversation that handed it out (never added to another one), References still win over
it, a plain or guessed token counts only from a participant, and the migration keeps the
plain tokens of existing conversations working for their recipients. Through dovecot and
the running service: Mallory's "Hej [#1]" hijack, another installation's token and
guessed tokens each land in a conversation of their own.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from channels.email.parse import parse_email, to_inbound
from channels.email.threads import ReplyTokens, participant_key, token_key
from router.config import load_config
from router.domain.model import InboundMessage
from router.engine.pipeline import Pipeline
from router.store import Store
from router.store.postgres import PostgresStore
from router.store.sqlite import SqliteStore
from tests.conftest import echo_decide, write_config
from tests.store.pg import fresh_schema, store_url

from .conftest import Dovecot, SmtpSink
from .shapes import mail

OWN = ["support@example.com"]
GRETA = "Greta Gran <greta@kund.example>"
MALLORY = "Mallory <mallory@evil.example>"


# ---- the pipeline on SQLite and PostgreSQL -------------------------------------------------
class Backend:
    """A store on one backend that can be closed and opened again (a restart, a migration)."""

    def __init__(self, kind: str, url: str, schema: str = "") -> None:
        self.kind, self.url, self.schema = kind, url, schema
        self.store: Store = self._new()

    def _new(self) -> Store:
        if self.kind == "sqlite":
            return SqliteStore(Path(self.url))
        return PostgresStore(store_url(self.url, self.schema))

    async def reopen(self) -> None:
        await self.store.close()
        self.store = self._new()
        await self.store.open()

    async def sql(self, statement: str) -> None:
        """Run `statement` beside the store (the store is closed meanwhile)."""
        await self.store.close()
        if self.kind == "sqlite":
            with sqlite3.connect(self.url) as db:
                db.execute(statement)
        else:
            conn = await asyncpg.connect(self.url)
            try:
                await conn.execute(f"SET search_path TO {self.schema}")
                await conn.execute(statement)
            finally:
                await conn.close()
        self.store = self._new()
        await self.store.open()


@pytest.fixture(params=["sqlite", "postgres"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "sqlite":
        b = Backend("sqlite", str(tmp_path / "router.db"))
        await b.store.open()
        yield b
        await b.store.close()
        return
    async with fresh_schema() as (url, schema):
        b = Backend("postgres", url, schema)
        await b.store.open()
        yield b
        await b.store.close()


TOKENS = ReplyTokens("a per-installation secret, 32 chars")


def _in(raw: bytes, tokens: ReplyTokens = TOKENS) -> InboundMessage:
    return to_inbound(parse_email(raw, own_addresses=OWN, tokens=tokens))


async def _answered(store: Store, conversation: int, recipient: str, mid: str) -> None:
    """What the outbox does after our reply to `recipient` went out (EmailAdapter.send)."""
    keys = (mid, token_key(conversation), participant_key(conversation, recipient))
    await store.write(lambda tx: tx.add_thread_keys("email", keys, conversation))


async def _owner(store: Store, key: str) -> int | None:
    conv = await store.read(lambda tx: tx.find_conversation("email", [key]))
    return conv.id if conv is not None else None


async def test_tokens_are_pinned_to_their_conversation(backend: Backend) -> None:
    store = backend.store
    pipeline = Pipeline(store, lambda: echo_decide)
    ingest: Callable[[bytes], Awaitable[Any]] = lambda raw: pipeline.ingest(_in(raw))  # noqa: E731
    a = (await ingest(mail(frm=GRETA, subject="Faktura", mid="<g1@kund.example>"))).conversation_id
    await _answered(store, a, "greta@kund.example", "ir.1@example.com")
    mark = TOKENS.mark(a)

    # Mallory quotes the plain ticket number, then guesses a signed one: her own conversations
    hijack = await ingest(mail(frm=MALLORY, subject=f"Hej [#{a}]", mid="<m1@evil.example>"))
    guess = await ingest(mail(frm=MALLORY, subject=f"Re: x [#{a}-aaaaaaaaaa]", mid="<m2@evil.example>",
                              to=f"support+c{a}-bbbbbbbbbb@example.com"))
    assert a not in (hijack.conversation_id, guess.conversation_id)
    # ... and nothing she sent took the token: it still names conversation a only
    assert await _owner(store, token_key(a)) == a
    assert await _owner(store, participant_key(a, "mallory@evil.example")) is None

    # Greta's replies without References: signed token, plain token (she is a participant)
    signed = await ingest(mail(frm=GRETA, subject=f"Re: Faktura [#{mark}]", mid="<g2@kund.example>"))
    plain = await ingest(mail(frm=GRETA, subject=f"SV: Faktura [#{a}]", mid="<g3@kund.example>",
                              to=f"support+c{a}@example.com"))
    assert signed.conversation_id == plain.conversation_id == a

    # References win over a (valid) token, and the token is not added to that conversation
    other = (await ingest(mail(frm=GRETA, subject="Ny fråga", mid="<g4@kund.example>"))).conversation_id
    both = await ingest(mail(frm=GRETA, subject=f"Re: Ny fråga [#{mark}]", mid="<g5@kund.example>",
                             extra="In-Reply-To: <g4@kund.example>\r\nReferences: <g4@kund.example>\r\n"))
    assert both.conversation_id == other != a
    assert await _owner(store, token_key(a)) == a
    # whoever holds the signed token (Greta forwarded our reply to a colleague) joins a
    colleague = await ingest(mail(frm="Kollega <kollega@kund.example>", subject=f"Re: Faktura [#{mark}]",
                                  mid="<k1@kund.example>"))
    assert colleague.conversation_id == a


async def test_migration_keeps_plain_tokens_for_their_recipients(backend: Backend) -> None:
    pipeline = Pipeline(backend.store, lambda: echo_decide)
    old = (await pipeline.ingest(_in(mail(frm=GRETA, subject="Faktura", mid="<o1@kund.example>"))))
    a = old.conversation_id
    # a database from before: our replies registered only their Message-IDs
    await backend.sql("DELETE FROM thread_keys WHERE key LIKE 'pin:%'")
    await backend.sql("DELETE FROM schema_migrations WHERE version = 9")
    assert await _owner(backend.store, participant_key(a, "greta@kund.example")) == a  # migrated
    pipeline = Pipeline(backend.store, lambda: echo_decide)
    greta = await pipeline.ingest(_in(mail(frm=GRETA, subject=f"Re: Faktura [#{a}]",
                                           mid="<o2@kund.example>")))
    mallory = await pipeline.ingest(_in(mail(frm=MALLORY, subject=f"Hej [#{a}]",
                                             mid="<o3@evil.example>")))
    assert greta.conversation_id == a != mallory.conversation_id


# ---- through dovecot and the running service -----------------------------------------------
class Flow:
    """The service with its email channel on dovecot; waits on the importer's sync passes
    and the outbox's settled rows (events), never on the clock."""

    def __init__(self, service: Any, dovecot: Dovecot, sink: SmtpSink) -> None:
        self.service, self.dovecot, self.sink = service, dovecot, sink
        self.adapter = service.channels["email"]
        self.importer = self.adapter.importers[0]
        self.settled = 0
        self._settled = asyncio.Event()
        previous = service.dispatcher.on_settled

        def on_settled(row: Any, outcome: str) -> None:
            if previous is not None:
                previous(row, outcome)
            self.settled += 1
            self._settled.set()

        service.dispatcher.on_settled = on_settled
        self.db = sqlite3.connect(service.config.data_path("router.db"))

    async def deliver(self, *raws: bytes) -> None:
        """Drop mail into the Maildir and return once the importer has stored all of it."""
        target = self.importer.imported + len(raws)
        for raw in raws:
            self.dovecot.deliver(raw)
        while self.importer.imported < target:
            self.importer.synced.clear()
            self.importer.poke()
            await asyncio.wait_for(self.importer.synced.wait(), 10)

    async def replies_settled(self, count: int) -> None:
        """Until `count` replies were sent and their thread keys committed."""
        while self.settled < count:
            self._settled.clear()
            await asyncio.wait_for(self._settled.wait(), 10)

    def conversation_of(self, message_id: str) -> int:
        row = self.db.execute("SELECT m.conversation_id FROM inbox i JOIN messages m ON "
                              "m.id = i.message_id WHERE i.external_id = ?", (message_id,)).fetchone()
        return int(row[0])


@pytest.fixture
async def flow(tmp_path: Path, dovecot: Dovecot, smtp_sink: SmtpSink, start_service: Any) -> Flow:
    config = write_config(tmp_path, f"""
channels:
  email:
    mailboxes:
      - name: support
        imap: {{host: 127.0.0.1, port: {dovecot.port}, tls: none, username: alice, password: secret,
                poll_interval: 30}}
    smtp_out: {{host: 127.0.0.1, port: {smtp_sink.port}, tls: none, from_address: support@example.com}}
""")
    service = await start_service(load_config(config), echo_decide)
    return Flow(service, dovecot, smtp_sink)


def _headers(envelope: Any) -> Any:
    return message_from_bytes(envelope.original_content, policy=policy.default)


async def test_a_stranger_quoting_a_ticket_number_cannot_enter_the_conversation(flow: Flow) -> None:
    await flow.deliver(mail("Var är min faktura?\r\n", frm=GRETA, subject="Faktura", mid="<g1@kund.example>"))
    await flow.replies_settled(1)
    first = _headers(flow.sink.messages[0])
    greta = flow.conversation_of("g1@kund.example")
    reply_to = first["Reply-To"].addresses[0].addr_spec
    assert reply_to == f"support+c{flow.adapter.tokens.mark(greta)}@example.com"

    # Mallory: "Hej [#18]" without References, and to the plain plus-address
    await flow.deliver(mail("Hej, jag är Greta, skicka fakturan hit.\r\n", frm=MALLORY,
                            subject=f"Hej [#{greta}]", mid="<m1@evil.example>",
                            to=f"support+c{greta}@example.com"))
    mallory = flow.conversation_of("m1@evil.example")
    assert mallory != greta
    await flow.replies_settled(2)
    assert flow.sink.messages[1].rcpt_tos == ["mallory@evil.example"]

    # Greta's next replies without References: by our Reply-To token, and by a plain
    # "[#18]" typed into a new mail (a participant's plain token still counts)
    await flow.deliver(
        mail("Tack, men beloppet är fel.\r\n", frm=GRETA, subject=str(first["Subject"]),
             mid="<g2@kund.example>", to=reply_to),
        mail("En sak till.\r\n", frm=GRETA, subject=f"Faktura [#{greta}]", mid="<g3@kund.example>"))
    assert flow.conversation_of("g2@kund.example") == flow.conversation_of("g3@kund.example") == greta
    await flow.replies_settled(4)
    assert [e.rcpt_tos for e in flow.sink.messages[2:]] == [["greta@kund.example"]] * 2
    rows = flow.db.execute("SELECT id, recipient FROM conversations ORDER BY id").fetchall()
    assert rows == [(greta, "greta@kund.example"), (mallory, "mallory@evil.example")]


async def test_foreign_and_guessed_tokens_open_conversations_of_their_own(flow: Flow) -> None:
    await flow.deliver(mail("Hej!\r\n", frm=GRETA, subject="Leverans", mid="<g1@kund.example>"))
    await flow.replies_settled(1)
    greta = flow.conversation_of("g1@kund.example")
    other = ReplyTokens("another installation's own secret")
    strangers = {
        # a second installation's auto-reply carrying its own ticket token, signed and plain
        "x1@other.example": mail("Tack, vi har fått ditt mejl.\r\n", frm="Support <support@other.example>",
                                 subject=f"Re: Leverans [#{other.mark(greta)}]", mid="<x1@other.example>",
                                 extra="Auto-Submitted: auto-replied\r\n"),
        "x2@other.example": mail("Tack, vi har fått ditt mejl.\r\n", frm="Help <help@older.example>",
                                 subject=f"Autosvar [#{greta}]", mid="<x2@other.example>",
                                 extra="Auto-Submitted: auto-replied\r\n"),
        # guessed tokens: a made-up mac in the subject and in the plus-address
        "m1@evil.example": mail("Skicka fakturan till mig.\r\n", frm=MALLORY,
                                subject=f"Re: Leverans [#{greta}-abcdefghij]", mid="<m1@evil.example>"),
        "m2@evil.example": mail("Ändra adressen.\r\n", frm="Trudy <trudy@evil.example>",
                                subject="Adress", mid="<m2@evil.example>",
                                to=f"support+c{greta}-{'q' * 10}@example.com"),
    }
    await flow.deliver(*strangers.values())
    landed = {mid: flow.conversation_of(mid) for mid in strangers}
    assert greta not in landed.values()
    assert len(set(landed.values())) == len(strangers)  # each in a conversation of its own
    assert flow.db.execute("SELECT count(*) FROM messages WHERE conversation_id = ? AND "
                           "direction = 'in'", (greta,)).fetchone() == (1,)
    await flow.replies_settled(3)  # the two people get answers; the auto-replies none
    assert sorted(e.rcpt_tos[0] for e in flow.sink.messages[1:]) == [
        "mallory@evil.example", "trudy@evil.example"]
