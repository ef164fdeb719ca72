"""Hypothesis-mutated raw mails through `parse-email` and the IMAP path (issue 22).

The originals are the real mails in samples/ and auto/, mutated as in tests/channels/fuzz.py
(hostile header values, headers dropped or doubled, bodies replaced, bytes spliced or cut
off), each with a Message-ID of its own. Every mail goes through `inquiry-router
parse-email --json` (in process), and all of them are then delivered into a real dovecot
that the real service (the shipped rules and bots, an SMTP sink for the replies) reads.
Must hold: parse-email answers every mail without an error; the service imports every
mail without a failed IMAP pass and stores each under the Message-ID parse-email showed
(nothing lost, nothing stuck), nothing acknowledged then fails, and nothing is logged as
an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from channels.email.adapter import EmailAdapter
from router.cli import main as cli
from router.wiring import build_decide
from tests.channels.fuzz import (
    MESSAGE_ID,
    assert_nothing_failed,
    errors_logged,
    examples,
    load_mails,
    mutated_mail,
    shipped_config,
)
from tests.fuzz_counts import count
from tests.store.pg import fresh_schema, store_url

from .conftest import AUTO_DIR, SAMPLES, Dovecot, SmtpSink

MAILS = 80


def email_yaml(dovecot: Dovecot, sink: SmtpSink) -> str:
    return f"""
channels:
  email:
    mailboxes:
      - name: support
        imap: {{host: 127.0.0.1, port: {dovecot.port}, tls: none, username: alice,
                password: secret, poll_interval: 30}}
    smtp_out: {{host: 127.0.0.1, port: {sink.port}, tls: none, from_address: support@example.com}}
    own_addresses: [support@example.com]
"""


@dataclass
class Fuzzed:
    mails: list[bytes]
    keys: set[str]  # Message-IDs parse-email showed (lower case: the inbox key)
    synthetic: set[bytes]  # mails without one: keyed by a hash of the bytes dovecot may re-end


@functools.cache
def fuzzed(directory: Path) -> Fuzzed:
    """The mutated mails, each through `inquiry-router parse-email --json` (in process)
    once for both backends; a mail it cannot answer fails the test."""
    mails = examples(mutated_mail(load_mails(SAMPLES, AUTO_DIR)), MAILS)
    found = Fuzzed([m.replace(MESSAGE_ID, b"<fuzz-%d@fuzz.example>" % n)
                    for n, m in enumerate(mails)], set(), set())
    problems = []
    for n, raw in enumerate(found.mails):
        path = directory / f"mail-{n:03d}.eml"
        path.write_bytes(raw)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli(["parse-email", str(path), "--json", "--own", "support@example.com"])
        count("email parse-email", 200 if code == 0 else 500)
        if code != 0:
            problems.append(f"parse-email {path.name}: exit {code}: {err.getvalue()}")
        elif (info := json.loads(out.getvalue()))["synthetic_message_id"]:
            found.synthetic.add(raw)
        else:
            found.keys.add(info["message_id"].lower())
    assert not problems, problems
    return found


@pytest_asyncio.fixture(params=["sqlite", "postgres"])
async def storage(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield ""
        return
    async with fresh_schema() as (server, schema):
        yield f"storage: {{url: '{store_url(server, schema)}'}}\n"


async def test_mutated_mails_through_parse_email_and_imap(
        storage: str, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path,
        dovecot: Dovecot, smtp_sink: SmtpSink, start_service: Any, caplog: Any) -> None:
    mails = fuzzed(tmp_path_factory.getbasetemp())
    for raw in mails.mails:
        dovecot.deliver(raw)
    config = shipped_config(tmp_path, email_yaml(dovecot, smtp_sink) + storage)
    service = await start_service(config, build_decide(config))
    assert isinstance(service.channels["email"], EmailAdapter)
    importer = service.channels["email"].importers[0]
    synced = asyncio.ensure_future(importer.synced.wait())
    failed = asyncio.ensure_future(importer.failed.wait())
    await asyncio.wait({synced, failed}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
    synced.cancel()
    failed.cancel()
    for _ in range(importer.imported):
        count("email", 200)
    if importer.failed.is_set() or importer.imported < len(mails.mails):
        count("email", 500)
    assert not importer.failed.is_set(), importer.last_error
    assert importer.imported == len(mails.mails)
    await assert_nothing_failed(service)

    rows = await service.store.read(
        lambda tx: tx._all("SELECT external_id FROM inbox WHERE channel = 'email'"))
    stored = {key for (key,) in rows}
    assert mails.keys <= stored, sorted(mails.keys - stored)[:5]
    # the same Message-ID twice is a redelivery: stored once
    assert len(stored) == len(mails.keys) + len(mails.synthetic)
    assert not errors_logged(caplog.records)
    await service.stop()


# --- found by this fuzz, fixed in channels/email (0528e02) -----------------------------------
NUL_MAILS = [  # each decodes to text with a NUL, which a PostgreSQL text column refuses
    b"Subject: =?utf-8?q?Hej=00d=C3=A5?=\r\n\r\nHej\r\n",
    b"Subject: hej\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n\r\nHej=00d=C3=A5!\r\n",
    b"Subject: hej\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\nSGVqAGTDpQ==\r\n",
]


async def test_a_mail_decoding_to_a_nul_does_not_hold_up_the_mailbox_on_postgresql(
        tmp_path: Path, dovecot: Dovecot, smtp_sink: SmtpSink, start_service: Any) -> None:
    # its commit failed, so every IMAP pass failed on it and the mail after it waited forever
    for n, rest in enumerate(NUL_MAILS):
        dovecot.deliver(b"From: Ulla <ulla@kund.example>\r\nTo: support@example.com\r\n"
                        b"Message-ID: <nul-%d@kund.example>\r\n" % n + rest)
    dovecot.deliver(b"From: Ulla <ulla@kund.example>\r\nTo: support@example.com\r\n"
                    b"Message-ID: <fine@kund.example>\r\nSubject: hej\r\n\r\nHej!\r\n")
    async with fresh_schema() as (server, schema):
        storage = f"storage: {{url: '{store_url(server, schema)}'}}\n"
        config = shipped_config(tmp_path, email_yaml(dovecot, smtp_sink) + storage)
        service = await start_service(config, build_decide(config))
        importer = service.channels["email"].importers[0]
        synced = asyncio.ensure_future(importer.synced.wait())
        failed = asyncio.ensure_future(importer.failed.wait())
        await asyncio.wait({synced, failed}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
        synced.cancel()
        failed.cancel()
        await service.stop()
    assert not importer.failed.is_set(), importer.last_error
    assert importer.imported == len(NUL_MAILS) + 1
