"""Issue 23's mail shapes, each through the parser, `parse-email` and the running channel.

Reply-To (a web form), Message-ID case, every no-reply and bulk shape, a boundary the body
does not use, MIME nested 1,500 deep, raw 8-bit headers and cp1252 in an ISO-8859-1
encoded-word. The channel tests run the real service (SQLite) with the SMTP listener in
and an SMTP sink out: the listener answers 250 only after the commit, so every effect of a
mail (its message, contact, outbox row) is in the database when `send` returns.
"""

from __future__ import annotations

import json
import sqlite3
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest

from channels.email.parse import parse_email, to_inbound
from router.cli import main
from router.config import load_config
from tests.conftest import echo_decide, write_config

from . import shapes
from .conftest import SmtpSink, free_port

OWN = ["support@example.com"]


def _cli(tmp_path: Path, raw: bytes, capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    path = tmp_path / "mail.eml"
    path.write_bytes(raw)
    assert main(["parse-email", str(path), "--json", "--own", OWN[0], *args]) == 0
    return json.loads(capsys.readouterr().out)


# ---- the parser and parse-email ------------------------------------------------------------
def test_reply_to_is_where_replies_go(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parsed = parse_email(shapes.REPLY_TO, own_addresses=OWN)
    # a form's From: noreply@ is no reason for silence when a person is in Reply-To
    assert parsed.automatic == ()
    sender = to_inbound(parsed).sender
    assert (sender.external_id, sender.email, sender.display_name) == (
        "kalle@kund.example", "kalle@kund.example", "Kalle Kund")
    nameless = parse_email(shapes.REPLY_TO.replace(b"Kalle Kund <Kalle@Kund.example>", b"kalle@kund.example"))
    assert to_inbound(nameless).sender.display_name == ""  # not the form's "Webbformulär"
    assert sender.username == "noreply@site.example"  # the contact records both addresses
    info = _cli(tmp_path, shapes.REPLY_TO, capsys)
    assert (info["from"], info["reply_to"], info["replies_go_to"]) == (
        "noreply@site.example", "kalle@kund.example", "kalle@kund.example")
    # use_reply_to: false (per mailbox): the From address, which is a robot's
    off = _cli(tmp_path, shapes.REPLY_TO, capsys, "--ignore-reply-to")
    assert off["replies_go_to"] == "noreply@site.example"
    assert off["automatic_reasons"] == ["robot-sender:noreply"]


def test_message_id_is_kept_byte_for_byte(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parsed = parse_email(shapes.MESSAGE_ID_CASE)
    inbound = to_inbound(parsed)
    assert inbound.metadata["message_id"] == shapes.GMAIL_ID
    assert inbound.metadata["references"] == ["Root.X1@Kund.Example"]
    assert inbound.external_id == shapes.GMAIL_ID.lower()  # keys compare without case
    info = _cli(tmp_path, shapes.MESSAGE_ID_CASE, capsys)
    assert info["message_id"] == shapes.GMAIL_ID
    assert info["thread_key"] == "root.x1@kund.example"


@pytest.mark.parametrize("noise", shapes.NOISE, ids=[n.name for n in shapes.NOISE])
def test_no_reply_and_bulk_shapes(noise: shapes.Noise, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert noise.reason in parse_email(noise.raw, own_addresses=OWN).automatic
    info = _cli(tmp_path, noise.raw, capsys)
    assert info["automatic"] is True and noise.reason in info["automatic_reasons"]


@pytest.mark.parametrize("raw", shapes.HUMAN, ids=["nora.reply", "suppress-receipts", "first-class"])
def test_shapes_that_only_look_automatic(raw: bytes) -> None:
    assert parse_email(raw, own_addresses=OWN).automatic == ()


def test_boundary_mismatch_recovers_the_parts(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    parsed = parse_email(shapes.BOUNDARY_MISMATCH)
    assert parsed.visible_text == "Min faktura har fel belopp."
    assert not parsed.html_only
    assert any("boundary" in d for d in parsed.defects)
    assert _cli(tmp_path, shapes.BOUNDARY_MISMATCH, capsys)["visible_text"] == "Min faktura har fel belopp."


def test_missing_boundary_parameter_recovers_the_parts() -> None:
    raw = (b"From: a@example.org\r\nContent-Type: multipart/alternative\r\n\r\n--foo\r\n"
           b"Content-Type: text/plain\r\n\r\nhello\r\n--foo--\r\n")
    assert parse_email(raw).visible_text == "hello"


def test_mime_nested_1500_deep_keeps_its_headers(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    parsed = parse_email(shapes.deep())
    assert (parsed.sender, parsed.sender_name) == ("diver@kund.example", "Deep Diver")
    assert parsed.message_id == "Deep.1500@Kund.Example" and not parsed.synthetic_id
    assert parsed.visible_text == "Djupt nere."
    assert any("1500 levels" in d for d in parsed.defects)
    info = _cli(tmp_path, shapes.deep(), capsys)
    assert (info["from"], info["message_id"]) == ("diver@kund.example", "Deep.1500@Kund.Example")


def test_a_body_that_cannot_be_parsed_leaves_the_headers() -> None:
    raw = shapes.mail("x", mid="<kept@kund.example>") + b"\r\n" + bytes(range(256)) * 50
    parsed = parse_email(raw)
    assert (parsed.sender, parsed.message_id) == ("anna@kund.example", "kept@kund.example")


@pytest.mark.parametrize(("raw", "name", "subject"), [
    (shapes.LATIN1_HEADERS, "Åke Ström", "Hälsning från Åke"),
    (shapes.UTF8_HEADERS, "Олена Петренко", "Питання щодо рахунку"),
    (shapes.CP1252_WORD, "Åke Ström", "Pris € 100"),
], ids=["raw-latin1", "raw-utf8", "iso-8859-1-word-as-cp1252"])
def test_8bit_headers(raw: bytes, name: str, subject: str, tmp_path: Path,
                      capsys: pytest.CaptureFixture[str]) -> None:
    parsed = parse_email(raw)
    assert (parsed.sender_name, parsed.subject) == (name, subject)
    info = _cli(tmp_path, raw, capsys)
    assert (info["from_name"], info["subject"]) == (name, subject)


# ---- the running channel -------------------------------------------------------------------
async def _service(tmp_path: Path, sink: SmtpSink, start_service: Any) -> tuple[Any, int]:
    port = free_port()
    config = write_config(tmp_path, f"""
channels:
  email:
    smtp_in: {{host: 127.0.0.1, port: {port}, addresses: [support@example.com]}}
    smtp_out: {{host: 127.0.0.1, port: {sink.port}, tls: none, from_address: support@example.com}}
""")
    return await start_service(load_config(config), echo_decide), port


async def _send(port: int, raw: bytes) -> None:
    """Returns after the 250, which the listener sends only after the commit."""
    await aiosmtplib.send(raw, sender="mta@kund.example", recipients=OWN, hostname="127.0.0.1",
                          port=port)


def _db(tmp_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(tmp_path / "data" / "router.db")


def _mail(envelope: Any) -> Any:
    return message_from_bytes(envelope.original_content, policy=policy.default)


async def test_reply_to_and_message_id_case_through_the_channel(
        tmp_path: Path, smtp_sink: SmtpSink, start_service: Any) -> None:
    service, port = await _service(tmp_path, smtp_sink, start_service)
    await _send(port, shapes.REPLY_TO)
    (answer,) = await smtp_sink.wait_for(1)
    assert answer.rcpt_tos == ["kalle@kund.example"]
    db = _db(tmp_path)
    assert db.execute("SELECT c.email, c.display_name, i.external_id, i.username FROM contacts c "
                      "JOIN identities i ON i.contact_id = c.id").fetchall() == [
        ("kalle@kund.example", "Kalle Kund", "kalle@kund.example", "noreply@site.example")]
    assert db.execute("SELECT recipient FROM conversations").fetchall() == [("kalle@kund.example",)]
    # with use_reply_to off (a mailbox setting), the same form mail goes to its From: a robot
    adapter = service.channels["email"]
    off = shapes.REPLY_TO.replace(b"form.77@", b"form.78@")
    result = await adapter.ingest_raw(off, use_reply_to=False)
    assert db.execute("SELECT recipient FROM conversations WHERE id = ?",
                      (result.conversation_id,)).fetchone() == ("noreply@site.example",)
    assert db.execute("SELECT count(*) FROM outbox").fetchone() == (1,)  # never answered

    await _send(port, shapes.MESSAGE_ID_CASE)
    reply = _mail((await smtp_sink.wait_for(2))[1])
    assert reply["In-Reply-To"] == f"<{shapes.GMAIL_ID}>"
    assert reply["References"] == f"<Root.X1@Kund.Example> <{shapes.GMAIL_ID}>"


async def test_no_reply_and_bulk_shapes_through_the_channel(
        tmp_path: Path, smtp_sink: SmtpSink, start_service: Any) -> None:
    _, port = await _service(tmp_path, smtp_sink, start_service)
    db = _db(tmp_path)
    for noise in shapes.NOISE:
        await _send(port, noise.raw)
        (stored,) = db.execute(
            "SELECT m.raw FROM messages m JOIN inbox i ON i.message_id = m.id "
            "WHERE i.external_id = ?", (f"{noise.name}@shop.example",)).fetchone()
        assert stored, noise.name
        assert db.execute("SELECT count(*) FROM outbox").fetchone() == (0,), noise.name
    ignored = db.execute("SELECT count(*) FROM events WHERE kind = 'automatic_ignored'").fetchone()
    assert ignored == (len(shapes.NOISE),)
    for raw in shapes.HUMAN:  # and these are answered
        await _send(port, raw)
    assert db.execute("SELECT count(*) FROM outbox").fetchone() == (len(shapes.HUMAN),)


async def test_broken_mime_and_8bit_headers_through_the_channel(
        tmp_path: Path, smtp_sink: SmtpSink, start_service: Any) -> None:
    _, port = await _service(tmp_path, smtp_sink, start_service)
    db = _db(tmp_path)
    expected = {
        "mismatch.1@kund.example": ("anna@kund.example", "Min faktura har fel belopp."),
        "deep.1500@kund.example": ("diver@kund.example", "Djupt nere."),
        "latin1.1@kund.example": ("ake@kund.example", "Hej!"),
        "utf8.1@kund.example": ("olena@kund.example", "Привіт!"),
        "word.1@kund.example": ("ake@kund.example", "Hej!"),
    }
    for raw in (shapes.BOUNDARY_MISMATCH, shapes.deep(), shapes.LATIN1_HEADERS, shapes.UTF8_HEADERS,
                shapes.CP1252_WORD):
        await _send(port, raw)
    rows = db.execute(
        "SELECT i.external_id, c.recipient, m.text FROM inbox i JOIN messages m ON m.id = i.message_id "
        "JOIN conversations c ON c.id = m.conversation_id").fetchall()
    assert {r[0]: (r[1], r[2]) for r in rows} == expected
    names = {r[0] for r in db.execute("SELECT display_name FROM contacts")}
    assert names == {"Anna Andersson", "Deep Diver", "Åke Ström", "Олена Петренко"}
    replies = {_mail(e)["In-Reply-To"]: (e.rcpt_tos, _mail(e)) for e in await smtp_sink.wait_for(5)}
    assert replies["<Deep.1500@Kund.Example>"][0] == ["diver@kund.example"]
    assert replies["<mismatch.1@kund.example>"][0] == ["anna@kund.example"]
    assert replies["<latin1.1@kund.example>"][1]["Subject"].startswith("Re: Hälsning från Åke [#")
    assert replies["<word.1@kund.example>"][1]["Subject"].startswith("Re: Pris € 100 [#")
    assert replies["<utf8.1@kund.example>"][1]["Subject"].startswith("Re: Питання щодо рахунку [#")
