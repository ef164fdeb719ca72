"""One customer mail, one reply mail (issue 21): dovecot -> shipped rules and bots -> SMTP.

Out of hours, the shipped rules' away text (on `conversation_opened`) and the FAQ's answer
(on `message`) used to go out as two mails. The pipeline composes them into one.
"""

from __future__ import annotations

import sqlite3
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

from router.config import load_config
from router.wiring import build_decide
from tests.api.test_customer_hears import _shipped_rules
from tests.conftest import write_config

from .conftest import Dovecot, SmtpSink
from .test_email_e2e import _customer, _until


async def test_an_out_of_hours_invoice_question_gets_exactly_one_mail(
    tmp_path: Path, dovecot: Dovecot, smtp_sink: SmtpSink, start_service: Any
) -> None:
    rules, opening = _shipped_rules(tmp_path, closed=True)
    path = write_config(tmp_path, f"""
channels:
  email:
    mailboxes:
      - name: support
        imap: {{host: 127.0.0.1, port: {dovecot.port}, tls: none, username: alice, password: secret,
                poll_interval: 30}}
    smtp_out: {{host: 127.0.0.1, port: {smtp_sink.port}, tls: none, from_address: support@example.com}}
    own_addresses: [support@example.com]
agents:
  alice: {{name: Alice}}
  bob: {{name: Bob}}
{rules}""")
    config = load_config(path)
    await start_service(config, build_decide(config))
    dovecot.deliver(_customer("inv1@kund.example", "Faktura",
                              "Hej! Jag har inte fått någon faktura för min beställning, "
                              "var hittar jag den?"))
    (mail,) = await smtp_sink.wait_for(1)
    db = sqlite3.connect(tmp_path / "data" / "router.db")
    try:
        # every reply of that message was decided in its one transaction: all rows are there
        rows = db.execute("SELECT status FROM outbox WHERE channel = 'email'").fetchall()
        assert len(rows) == 1
        await _until(lambda: db.execute("SELECT count(*) FROM outbox WHERE status != 'sent'")
                     .fetchone()[0] == 0, "the outbox to drain")
    finally:
        db.close()
    assert len(smtp_sink.messages) == 1
    body = message_from_bytes(mail.original_content, policy=policy.default).get_body(
        ("plain",)).get_content()
    assert opening is not None and f"{opening:%H}:00" in body  # we say when we open
    assert "Mitt konto" in body  # and answer what the bot can, in the same mail
