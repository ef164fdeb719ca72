"""Two services on one PostgreSQL database, each with the email channel on the same
dovecot mailbox (issue 25): each mail is imported once, thread memory is shared, and the
daily auto-reply cap is counted once between them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from channels.email.adapter import EmailAdapter
from router.config import load_config
from tests.conftest import echo_decide, write_config
from tests.store.pg import fresh_schema, store_url

from .conftest import Dovecot, SmtpSink

# several instances (or stores) on PostgreSQL, 11 connections each: under pytest-xdist
# these modules share one worker, so two of them never hold connections at once
pytestmark = pytest.mark.xdist_group("postgres-instances")


def _config(directory: Path, url: str, dovecot: Dovecot, sink: SmtpSink) -> Path:
    directory.mkdir()
    return write_config(directory, f"""
storage: {{url: "{url}"}}
channels:
  email:
    mailboxes:
      - name: support
        imap: {{host: 127.0.0.1, port: {dovecot.port}, tls: none, username: alice, password: secret,
                poll_interval: 30}}
    smtp_out: {{host: 127.0.0.1, port: {sink.port}, tls: none, from_address: support@example.com}}
    own_addresses: [support@example.com]
    max_auto_replies_per_sender_per_day: 2
""")


def _mail(i: int) -> bytes:
    m = EmailMessage()
    m["From"], m["To"] = "Åsa <asa@kund.example>", "support@example.com"
    m["Subject"], m["Message-ID"] = f"Fråga {i}", f"<q{i}@kund.example>"
    m.set_content(f"Hej, fråga nummer {i}.")
    return m.as_bytes()


async def _until(check: Callable[[], Any], what: str, timeout: float = 20.0) -> None:
    """Poll with a deadline (the services work in background tasks)."""

    async def loop() -> None:
        while not await check():
            await asyncio.sleep(0.05)

    try:
        await asyncio.wait_for(loop(), timeout)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


async def test_two_instances_read_each_mail_once_and_share_the_cap(
        tmp_path: Path, dovecot: Dovecot, smtp_sink: SmtpSink, start_service: Any) -> None:
    for i in range(4):  # four new conversations from one sender; the cap allows two replies
        dovecot.deliver(_mail(i))
    async with fresh_schema() as (server, schema):
        url = store_url(server, schema)
        first = await start_service(load_config(_config(tmp_path / "a", url, dovecot, smtp_sink)),
                                    echo_decide)
        second = await start_service(load_config(_config(tmp_path / "b", url, dovecot, smtp_sink)),
                                     echo_decide)
        adapters: list[EmailAdapter] = [first.channels["email"], second.channels["email"]]
        db = await asyncpg.connect(url)
        try:
            async def settled() -> bool:
                return await db.fetchval(
                    "SELECT COUNT(*) FROM outbox WHERE channel = 'email' AND status IN "
                    "('sent', 'failed', 'dead')") == 4

            await _until(settled, "four replies settled")
            inbound = await db.fetch("SELECT external_id FROM messages WHERE direction = 'in'")
            assert len(inbound) == 4 and len({r[0] for r in inbound}) == 4
            assert sum(a.importers[0].imported for a in adapters) == 4  # each mail read once
            sent = dict(await db.fetch(
                "SELECT status, COUNT(*) FROM outbox WHERE channel = 'email' GROUP BY status"))
            assert sent == {"sent": 2, "failed": 2}
            errors = await db.fetch("SELECT last_error FROM outbox WHERE status = 'failed'")
            assert all("daily limit of 2" in r[0] for r in errors)
            conv = await db.fetchval("SELECT id FROM conversations ORDER BY id LIMIT 1")
        finally:
            await db.close()
        assert len(smtp_sink.messages) == 2
        # thread memory written by whichever instance read the mail, seen by both
        remembered = [await a.memory.get(conv) for a in adapters]
        assert remembered[0] == remembered[1] and remembered[0]["subject"].startswith("Fråga")
        await first.stop()
        await second.stop()
