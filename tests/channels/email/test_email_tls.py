"""TLS for real: dovecot with `ssl = required` (STARTTLS and imaps) and aiosmtpd sinks with
STARTTLS / implicit TLS, all with certificates from a private CA made by `openssl`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from channels.email.adapter import EmailAdapter
from channels.email.settings import EmailSettings
from router.domain.errors import ChannelError

from .conftest import SAMPLES, Dovecot, LocalCA, SmtpSink
from .intake_fake import SqliteIntake
from .test_email_send import _out


def imap_adapter(dovecot: Dovecot, tmp_path: Path, **imap: object) -> EmailAdapter:
    box = {"host": "127.0.0.1", "username": "alice", "password": "secret",
           "poll_interval": 30, **imap}
    settings = EmailSettings.model_validate(
        {"mailboxes": [{"name": "support", "imap": box}], "own_addresses": ["support@example.com"]})
    return EmailAdapter(settings=settings, state_dir=tmp_path / "state", imap_min_backoff=0.05)


async def import_one(dovecot: Dovecot, tmp_path: Path, **imap: object) -> None:
    dovecot.deliver((SAMPLES / "gmail_sv.eml").read_bytes())
    intake = SqliteIntake(tmp_path / "inbox.db")
    adapter = imap_adapter(dovecot, tmp_path, **imap)
    await adapter.start(intake)
    try:
        await asyncio.wait_for(adapter.importers[0].synced.wait(), 10)
        assert intake.count() == 1
    finally:
        await adapter.stop()
    log = await dovecot.logged("Login: user=<alice>")
    logins = [line for line in log.splitlines() if "Login: user=<alice>" in line]
    assert logins and all(", TLS" in line for line in logins), logins  # not plaintext


@pytest.mark.parametrize("mode", ["tls", "starttls"])
async def test_imap_over_tls_verified_against_the_ca(
        dovecot_tls: Dovecot, local_ca: LocalCA, tmp_path: Path, mode: str) -> None:
    port = dovecot_tls.imaps_port if mode == "tls" else dovecot_tls.port
    await import_one(dovecot_tls, tmp_path, tls=mode, port=port, ca_file=str(local_ca.ca))


async def test_imap_refuses_a_certificate_no_trusted_ca_signed(
        dovecot_tls: Dovecot, tmp_path: Path) -> None:
    adapter = imap_adapter(dovecot_tls, tmp_path, tls="tls", port=dovecot_tls.imaps_port)
    intake = SqliteIntake(tmp_path / "inbox.db")
    await adapter.start(intake)  # system roots only: the private CA is unknown
    try:
        await asyncio.wait_for(adapter.importers[0].failed.wait(), 10)
        assert "CERTIFICATE_VERIFY_FAILED" in adapter.importers[0].last_error
        assert intake.count() == 0
    finally:
        await adapter.stop()


async def test_imap_verify_false_accepts_any_certificate(
        dovecot_tls: Dovecot, tmp_path: Path) -> None:
    await import_one(dovecot_tls, tmp_path, tls="starttls", port=dovecot_tls.port, verify=False)


def smtp_adapter(tmp_path: Path, sink: SmtpSink, **out: object) -> EmailAdapter:
    settings = EmailSettings.model_validate({
        "smtp_out": {"host": "127.0.0.1", "port": sink.port, "from_address": "support@example.com",
                     **out},
        "own_addresses": ["support@example.com"]})
    return EmailAdapter(settings=settings, state_dir=tmp_path)


async def test_smtp_starttls_verified_against_the_ca(
        tmp_path: Path, smtp_starttls_sink: SmtpSink, local_ca: LocalCA) -> None:
    adapter = smtp_adapter(tmp_path, smtp_starttls_sink, tls="starttls", ca_file=str(local_ca.ca))
    await adapter.send(_out())
    (envelope,) = await smtp_starttls_sink.wait_for(1)
    assert envelope.rcpt_tos == ["asa.oberg@example.net"] and smtp_starttls_sink.tls == [True]


async def test_smtp_implicit_tls_verified_against_the_ca(
        tmp_path: Path, smtp_tls_sink: SmtpSink, local_ca: LocalCA) -> None:
    adapter = smtp_adapter(tmp_path, smtp_tls_sink, tls="tls", port=smtp_tls_sink.port,
                           ca_file=str(local_ca.ca))
    await adapter.send(_out())
    await smtp_tls_sink.wait_for(1)
    assert smtp_tls_sink.tls == [True]


async def test_smtp_untrusted_certificate_is_a_retryable_failure(
        tmp_path: Path, smtp_untrusted_sink: SmtpSink, local_ca: LocalCA) -> None:
    adapter = smtp_adapter(tmp_path, smtp_untrusted_sink, tls="starttls", ca_file=str(local_ca.ca))
    with pytest.raises(ChannelError) as err:
        await adapter.send(_out())
    assert not err.value.permanent and "CERTIFICATE_VERIFY_FAILED" in str(err.value)
    assert smtp_untrusted_sink.messages == []
    insecure = smtp_adapter(tmp_path, smtp_untrusted_sink, tls="starttls", verify=False)
    await insecure.send(_out(key="k2"))
    await smtp_untrusted_sink.wait_for(1)
    assert smtp_untrusted_sink.tls == [True]


async def test_smtp_plain_connection_to_a_starttls_only_server_is_refused(
        tmp_path: Path, smtp_starttls_sink: SmtpSink) -> None:
    adapter = smtp_adapter(tmp_path, smtp_starttls_sink, tls="none")
    with pytest.raises(ChannelError):
        await adapter.send(_out())
    assert smtp_starttls_sink.messages == []
