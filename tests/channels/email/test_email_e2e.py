"""End to end through the real service: dovecot -> pipeline (SQLite) -> outbox -> SMTP sink.

A five-message thread (customer, bot, agent, customer via Outlook, customer via a client
that drops References) stays one conversation with correctly threaded replies; a vacation
auto-reply and a bounce to our replies are stored but never answered.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import Envelope

from channels.email.adapter import EmailAdapter
from router.config import load_config
from router.domain.model import AuthorKind, ReplyContent
from router.engine.effects import enqueue_reply
from tests.conftest import echo_decide, write_config

from .conftest import AUTO_DIR, Dovecot, SmtpSink


def _config(tmp_path: Path, dovecot: Dovecot, sink: SmtpSink) -> Path:
    return write_config(
        tmp_path,
        f"""
channels:
  email:
    mailboxes:
      - name: support
        imap: {{host: 127.0.0.1, port: {dovecot.port}, tls: none, username: alice, password: secret,
                poll_interval: 30}}
    smtp_out: {{host: 127.0.0.1, port: {sink.port}, tls: none, from_address: support@example.com,
                from_name: "Kundtjänst"}}
    own_addresses: [support@example.com]
""",
    )


def _customer(
    mid: str,
    subject: str,
    body: str,
    *,
    frm: str = "Åsa Öberg <asa@kund.example>",
    in_reply_to: str = "",
    references: str = "",
    mailer: str = "",
    to: str = "support@example.com",
) -> bytes:
    m = EmailMessage(policy=policy.SMTP)
    m["From"], m["To"], m["Subject"], m["Message-ID"] = frm, to, subject, f"<{mid}>"
    m["Date"] = "Tue, 03 Mar 2026 11:20:00 +0100"
    if in_reply_to:
        m["In-Reply-To"] = in_reply_to
    if references:
        m["References"] = references
    if mailer:
        m["X-Mailer"] = mailer
    m.set_content(body)
    return m.as_bytes()


def _parsed(envelope: Envelope) -> Any:
    return message_from_bytes(envelope.original_content, policy=policy.default)


def _db(tmp_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(tmp_path / "data" / "router.db")


async def _until(check: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    """Poll a condition with a deadline (the service works in background tasks)."""

    async def loop() -> None:
        while not check():
            await asyncio.sleep(0.02)

    try:
        await asyncio.wait_for(loop(), timeout)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


async def test_five_message_thread_stays_one_conversation(
    tmp_path: Path, dovecot: Dovecot, smtp_sink: SmtpSink, start_service: Any
) -> None:
    service = await start_service(load_config(_config(tmp_path, dovecot, smtp_sink)), echo_decide)
    adapter: EmailAdapter = service.channels["email"]
    importer = adapter.importers[0]
    db = _db(tmp_path)

    # 1. the customer writes (Gmail)
    dovecot.deliver(_customer("m1@kund.example", "Faktura saknas", "Hej, var är fakturan?", mailer="Gmail"))
    # 2. the bot answers
    (bot,) = await smtp_sink.wait_for(1)
    bot_mail = _parsed(bot)
    (conv_id,) = db.execute("SELECT id FROM conversations WHERE channel = 'email'").fetchone()
    mark = adapter.tokens.mark(conv_id)  # "<id>-<mac>": the reply token, signed
    assert mark.startswith(f"{conv_id}-")
    assert bot_mail["In-Reply-To"] == "<m1@kund.example>"
    assert bot_mail["References"].strip() == "<m1@kund.example>"
    assert bot_mail["Subject"] == f"Re: Faktura saknas [#{mark}]"
    assert bot_mail["Auto-Submitted"] == "auto-replied"
    assert bot_mail["Reply-To"].addresses[0].addr_spec == f"support+c{mark}@example.com"
    assert bot_mail["From"].addresses[0].display_name == "Kundtjänst"
    assert bot.rcpt_tos == ["asa@kund.example"]
    assert "echo: Hej, var är fakturan?" in bot_mail.get_body(("plain",)).get_content()

    # 3. an agent answers (the agent desk path: enqueue_reply with no email metadata)
    async def agent_reply(tx: Any) -> None:
        conv = await tx.get_conversation(conv_id)
        await enqueue_reply(
            tx,
            conv,
            ReplyContent(text="Hej Åsa, fakturan kommer idag."),
            conv.updated_at,
            author_kind=AuthorKind.AGENT,
            author_id="olena",
            author_name="Олена Петренко",
        )

    await service.store.write(agent_reply)
    service.dispatcher.wake()
    agent = (await smtp_sink.wait_for(2))[1]
    agent_mail = _parsed(agent)
    assert agent_mail["From"].addresses[0].display_name == "Олена Петренко"
    assert agent_mail["Auto-Submitted"] is None
    assert agent_mail["In-Reply-To"] == "<m1@kund.example>"
    assert agent_mail["Subject"] == f"Re: Faktura saknas [#{mark}]"

    # 4. the customer answers the agent from Outlook (quote below, SV: prefix)
    agent_id = agent_mail["Message-ID"]
    dovecot.deliver(
        _customer(
            "m4@kund.example",
            f"SV: {agent_mail['Subject']}",
            "Tack, men beloppet är fel.\n\nFrån: Олена Петренко <support@example.com>\n"
            "Skickat: den 3 mars 2026\n"
            "Till: Åsa\nÄmne: Re: Faktura saknas\n\nHej Åsa, fakturan kommer idag.\n",
            in_reply_to=agent_id,
            references=f"<m1@kund.example> {agent_id}",
            mailer="Microsoft Outlook 16.0",
        )
    )
    # 5. and again from a phone client that drops References but keeps our Reply-To token
    await smtp_sink.wait_for(3)
    dovecot.deliver(
        _customer(
            "m5@kund.example",
            "Re: Faktura saknas",
            "Och en sak till: momsen saknas.\n\nSkickat från min iPhone",
            to=f"support+c{mark}@example.com",
        )
    )
    await smtp_sink.wait_for(4)
    conversations = db.execute("SELECT count(*) FROM conversations WHERE channel = 'email'").fetchone()[0]
    assert conversations == 1
    texts = [
        r[0]
        for r in db.execute(
            "SELECT text FROM messages WHERE conversation_id = ? AND direction = 'in' ORDER BY id", (conv_id,)
        )
    ]
    assert texts == ["Hej, var är fakturan?", "Tack, men beloppet är fel.", "Och en sak till: momsen saknas."]
    last = _parsed(smtp_sink.messages[3])
    assert last["In-Reply-To"] == "<m5@kund.example>"
    assert importer.imported == 3


async def test_vacation_reply_and_bounce_get_no_answer(
    tmp_path: Path, dovecot: Dovecot, smtp_sink: SmtpSink, start_service: Any
) -> None:
    service = await start_service(load_config(_config(tmp_path, dovecot, smtp_sink)), echo_decide)
    importer = service.channels["email"].importers[0]
    db = _db(tmp_path)
    dovecot.deliver(_customer("v1@kund.example", "Fråga", "Hej!", frm="Anna <anna.andersson@gmail.com>"))
    (bot,) = await smtp_sink.wait_for(1)
    ours = _parsed(bot)["Message-ID"]
    # an out-of-office answer comes after our Message-ID is kept: the reply's "sent" mark
    # (which keeps it) commits just after the SMTP server took the mail
    key = ours.strip("<>").lower()
    await _until(lambda: db.execute("SELECT count(*) FROM thread_keys WHERE key = ?",
                                    (key,)).fetchone()[0] == 1, "our Message-ID to be kept")
    vacation = (
        (AUTO_DIR / "gmail_vacation.eml")
        .read_bytes()
        .replace(b"<ir.0123456789abcdef0123456789abcdef@example.com>", ours.encode())
    )
    dovecot.deliver(vacation)
    dovecot.deliver((AUTO_DIR / "bounce_dsn.eml").read_bytes())
    dovecot.deliver((AUTO_DIR / "outlook_oof.eml").read_bytes())
    await _until(lambda: importer.imported == 4, "the automatic mails to be imported")
    # every automatic mail is stored, none has an outbox row, the sink saw only the first reply
    auto = db.execute("SELECT count(*) FROM events WHERE kind = 'automatic_ignored'").fetchone()[0]
    assert auto == 3
    assert db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 1
    assert len(smtp_sink.messages) == 1
    # the vacation reply joined the conversation it answered (by our Message-ID)
    assert (
        db.execute(
            "SELECT count(DISTINCT conversation_id) FROM messages m JOIN inbox i ON i.message_id = m.id "
            "WHERE i.external_id IN ('v1@kund.example', 'vacation.1@mail.gmail.com')"
        ).fetchone()[0]
        == 1
    )
