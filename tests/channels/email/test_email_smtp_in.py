"""SMTP intake (aiosmtpd listener): our addresses only, size limit, 451 when we cannot store."""

from __future__ import annotations

from pathlib import Path

import aiosmtplib
import pytest

from channels.email.adapter import EmailAdapter
from channels.email.settings import EmailSettings

from .conftest import SAMPLES, free_port
from .intake_fake import SqliteIntake


async def _listener(
    tmp_path: Path, intake: SqliteIntake, max_bytes: int = 1_000_000
) -> tuple[EmailAdapter, int]:
    port = free_port()
    settings = EmailSettings.model_validate(
        {
            "smtp_in": {
                "host": "127.0.0.1",
                "port": port,
                "addresses": ["support@example.com"],
                "max_bytes": max_bytes,
            }
        }
    )
    adapter = EmailAdapter(settings=settings, state_dir=tmp_path / "s")
    await adapter.start(intake)
    return adapter, port


async def test_accepts_mail_for_our_addresses(tmp_path: Path) -> None:
    intake = SqliteIntake(tmp_path / "inbox.db")
    adapter, port = await _listener(tmp_path, intake)
    try:
        raw = (SAMPLES / "outlook_sv.eml").read_bytes()
        await aiosmtplib.send(
            raw,
            sender="goran@foretag.se",
            recipients=["support+c42@example.com"],
            hostname="127.0.0.1",
            port=port,
        )
        assert intake.count() == 1  # 250 came after the commit
        msg = intake.messages[0]
        assert msg.text.startswith("Hej,")
        # a plain token (no mac): it counts only if its sender is a participant
        assert "pin:token:c42|goran.strom@foretag.se" in msg.thread_aliases
        assert not msg.is_automatic
    finally:
        await adapter.stop()


async def test_rejects_relaying(tmp_path: Path) -> None:
    intake = SqliteIntake(tmp_path / "inbox.db")
    adapter, port = await _listener(tmp_path, intake)
    try:
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as err:
            await aiosmtplib.send(
                b"Subject: x\r\n\r\nhi\r\n",
                sender="a@example.org",
                recipients=["victim@elsewhere.example"],
                hostname="127.0.0.1",
                port=port,
            )
        assert err.value.recipients[0].code == 550
        assert intake.count() == 0
    finally:
        await adapter.stop()


async def test_size_limit(tmp_path: Path) -> None:
    intake = SqliteIntake(tmp_path / "inbox.db")
    adapter, port = await _listener(tmp_path, intake, max_bytes=10_000)
    try:
        big = b"Subject: big\r\n\r\n" + (b"x" * 70 + b"\r\n") * 500
        with pytest.raises(aiosmtplib.SMTPResponseException) as err:
            await aiosmtplib.send(
                big,
                sender="a@example.org",
                recipients=["support@example.com"],
                hostname="127.0.0.1",
                port=port,
            )
        assert err.value.code == 552
        assert intake.count() == 0
    finally:
        await adapter.stop()


async def test_store_failure_answers_451_so_the_mta_retries(tmp_path: Path) -> None:
    intake = SqliteIntake(tmp_path / "inbox.db", fail_times=1)
    adapter, port = await _listener(tmp_path, intake)
    raw = (SAMPLES / "gmail_en.eml").read_bytes()
    try:
        with pytest.raises(aiosmtplib.SMTPResponseException) as err:
            await aiosmtplib.send(
                raw,
                sender="a@example.org",
                recipients=["support@example.com"],
                hostname="127.0.0.1",
                port=port,
            )
        assert err.value.code == 451
        await aiosmtplib.send(
            raw, sender="a@example.org", recipients=["support@example.com"], hostname="127.0.0.1", port=port
        )  # the MTA's retry
        await aiosmtplib.send(
            raw, sender="a@example.org", recipients=["support@example.com"], hostname="127.0.0.1", port=port
        )  # a duplicate delivery
        assert intake.count() == 1
    finally:
        await adapter.stop()


async def test_bounce_envelope_is_automatic(tmp_path: Path) -> None:
    intake = SqliteIntake(tmp_path / "inbox.db")
    adapter, port = await _listener(tmp_path, intake)
    try:
        raw = b"From: someone@example.org\r\nSubject: hello\r\nMessage-ID: <b1@x>\r\n\r\nbounced\r\n"
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port) as client:
            await client.mail("")  # MAIL FROM:<>, as bounces are sent
            await client.rcpt("support@example.com")
            await client.data(raw)
        assert intake.messages[0].is_automatic
        assert "empty-return-path" in intake.messages[0].metadata["automatic"]
    finally:
        await adapter.stop()
