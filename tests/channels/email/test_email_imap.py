"""IMAP import against a real dovecot: \\Seen after commit, restarts, IDLE, UIDVALIDITY, drops."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from channels.email.adapter import EmailAdapter
from channels.email.settings import EmailSettings
from channels.email.state import ImapPosition, ImapState
from router.ports.channel_state_local import LocalChannelState

from .conftest import SAMPLES, Dovecot
from .intake_fake import SqliteIntake

NAMES = ["gmail_sv", "outlook_fi", "apple_uk"]


def settings(dovecot: Dovecot, **imap: object) -> EmailSettings:
    box = {
        "host": "127.0.0.1",
        "port": dovecot.port,
        "tls": "none",
        "username": "alice",
        "password": "secret",
        "poll_interval": 30,
        **imap,
    }
    return EmailSettings.model_validate(
        {"mailboxes": [{"name": "support", "imap": box}], "own_addresses": ["support@example.com"]}
    )


def seen_flags(dovecot: Dovecot) -> list[bool]:
    """Per message file: has dovecot recorded \\Seen (maildir info ':2,...S')?"""
    files = [*(dovecot.maildir / "cur").iterdir(), *(dovecot.maildir / "new").iterdir()]
    return sorted("S" in f.name.partition(":2,")[2] for f in files)


async def wait_synced(adapter: EmailAdapter, timeout: float = 10.0) -> None:
    importer = adapter.importers[0]
    importer.synced.clear()
    importer.poke()
    await asyncio.wait_for(importer.synced.wait(), timeout)


async def start(dovecot: Dovecot, tmp_path: Path, intake: SqliteIntake, **imap: object) -> EmailAdapter:
    adapter = EmailAdapter(
        settings=settings(dovecot, **imap), state_dir=tmp_path / "state", imap_min_backoff=0.05
    )
    await adapter.start(intake)
    await asyncio.wait_for(adapter.importers[0].synced.wait(), 10)
    return adapter


async def test_import_flags_seen_only_after_commit(dovecot: Dovecot, tmp_path: Path) -> None:
    for name in NAMES:
        dovecot.deliver((SAMPLES / f"{name}.eml").read_bytes())
    intake = SqliteIntake(tmp_path / "inbox.db")
    adapter = await start(dovecot, tmp_path, intake)
    try:
        assert intake.count() == 3
        assert seen_flags(dovecot) == [True, True, True]
        texts = {m.external_id: m.text for m in intake.messages}
        assert any(t.startswith("Hej!") for t in texts.values())
        assert all(m.raw and adapter.raw_store.get(m.raw["ref"]) for m in intake.messages)
    finally:
        await adapter.stop()


async def test_idle_delivers_new_mail_without_polling(dovecot: Dovecot, tmp_path: Path) -> None:
    intake = SqliteIntake(tmp_path / "inbox.db")
    adapter = await start(dovecot, tmp_path, intake, poll_interval=3600)
    try:
        dovecot.deliver((SAMPLES / "gmail_en.eml").read_bytes())
        await intake.wait_count(1, timeout=15)  # dovecot pushes EXISTS about 1 s later
    finally:
        await adapter.stop()


async def test_restart_neither_skips_nor_reimports(dovecot: Dovecot, tmp_path: Path) -> None:
    dovecot.deliver((SAMPLES / "gmail_sv.eml").read_bytes())
    intake = SqliteIntake(tmp_path / "inbox.db")
    adapter = await start(dovecot, tmp_path, intake)
    await adapter.stop()
    dovecot.deliver((SAMPLES / "gmail_fi.eml").read_bytes())
    dovecot.deliver((SAMPLES / "gmail_uk.eml").read_bytes())
    adapter = await start(dovecot, tmp_path, intake)
    try:
        assert intake.count() == 3
        assert intake.calls == 3  # not even a duplicate hand-off: the position was saved
    finally:
        await adapter.stop()


async def test_failed_intake_is_retried_and_nothing_is_lost(dovecot: Dovecot, tmp_path: Path) -> None:
    dovecot.deliver((SAMPLES / "gmail_sv.eml").read_bytes())
    intake = SqliteIntake(tmp_path / "inbox.db", fail_times=2)
    adapter = EmailAdapter(settings=settings(dovecot), state_dir=tmp_path / "s", imap_min_backoff=0.05)
    await adapter.start(intake)
    try:
        await intake.wait_count(1)
        await asyncio.wait_for(adapter.importers[0].synced.wait(), 10)
        assert seen_flags(dovecot) == [True]
        assert "store unavailable" in adapter.importers[0].last_error
    finally:
        await adapter.stop()


async def test_uidvalidity_change_rereads_unseen_mail(dovecot: Dovecot, tmp_path: Path) -> None:
    intake = SqliteIntake(tmp_path / "inbox.db")
    adapter = await start(dovecot, tmp_path, intake)
    await adapter.stop()
    local = LocalChannelState(tmp_path / "state" / "channel-state.db", "email")
    await ImapState(local).save("support", "INBOX", ImapPosition(uidvalidity=1, last_uid=10_000))
    await local.close()  # (a rebuilt mailbox)
    dovecot.deliver((SAMPLES / "gmail_de.eml").read_bytes())
    adapter = await start(dovecot, tmp_path, intake)
    try:
        assert intake.count() == 1
        pos = await adapter.imap_state.get("support", "INBOX")
        assert pos is not None and pos.uidvalidity != 1 and pos.last_uid == 1
    finally:
        await adapter.stop()


async def test_reconnects_when_the_server_drops(dovecot: Dovecot, tmp_path: Path) -> None:
    intake = SqliteIntake(tmp_path / "inbox.db")
    adapter = await start(dovecot, tmp_path, intake, poll_interval=3600)
    try:
        assert dovecot.drop_connections() >= 1
        dovecot.deliver((SAMPLES / "gmail_nb.eml").read_bytes())
        await intake.wait_count(1, timeout=20)
        assert adapter.importers[0].connects >= 2
    finally:
        await adapter.stop()


async def test_exists_announced_alongside_a_search_is_news_not_a_uid(
        dovecot: Dovecot, tmp_path: Path) -> None:
    """A mail arriving while our SEARCH runs is announced inside its answer ("* 7 EXISTS")
    and never again: the importer must take it as news (and run its pass again rather than
    IDLE, which would wait for the next mail), not as UID 7."""
    intake = SqliteIntake(tmp_path / "inbox.db")
    adapter = await start(dovecot, tmp_path, intake)

    class Answer:
        result = "OK"
        lines = [b"5 9", b"7 EXISTS", b"Search completed (0.001 + 0.000 secs)."]

    class Client:
        async def uid_search(self, criteria: str, charset: object = None) -> Answer:
            return Answer()

    try:
        importer = adapter.importers[0]
        importer._news = False
        assert await importer._search(Client(), "UID 5:*") == [5, 9]  # type: ignore[arg-type]
        assert importer._news
    finally:
        await adapter.stop()


async def test_processed_folder_moves_mail(dovecot: Dovecot, tmp_path: Path) -> None:
    dovecot.deliver((SAMPLES / "gmail_da.eml").read_bytes())
    intake = SqliteIntake(tmp_path / "inbox.db")
    adapter = await start(dovecot, tmp_path, intake, processed_folder="Processed")
    try:
        assert intake.count() == 1
        assert not list((dovecot.maildir / "cur").iterdir()) and not list((dovecot.maildir / "new").iterdir())
        moved = list((dovecot.maildir / ".Processed" / "cur").iterdir())
        assert len(moved) == 1
    finally:
        await adapter.stop()


async def test_oversized_mail_is_imported_with_headers_only(dovecot: Dovecot, tmp_path: Path) -> None:
    dovecot.deliver((SAMPLES / "gmail_en.eml").read_bytes())
    intake = SqliteIntake(tmp_path / "inbox.db")
    box = settings(dovecot).model_dump()
    box["max_message_bytes"] = 100
    adapter = EmailAdapter(settings=EmailSettings.model_validate(box), state_dir=tmp_path / "s")
    await adapter.start(intake)
    try:
        await intake.wait_count(1)
        assert "over the size limit" in intake.messages[0].text
        assert intake.messages[0].metadata["subject"] == "Re: Invoice missing"
    finally:
        await adapter.stop()


async def test_30_mb_message_and_500_attachments_over_imap(dovecot: Dovecot, tmp_path: Path) -> None:
    from email.message import EmailMessage
    from email.policy import SMTP

    big = EmailMessage(policy=SMTP)
    big["From"], big["Subject"], big["Message-ID"] = "a@example.org", "big", "<big@example.org>"
    big.set_content("30 MB follow")
    big.add_attachment(os.urandom(22 * 1024 * 1024), maintype="application", subtype="zip", filename="b.zip")
    many = EmailMessage(policy=SMTP)
    many["From"], many["Subject"], many["Message-ID"] = "b@example.org", "many", "<many@example.org>"
    many.set_content("500 files")
    for i in range(500):
        many.add_attachment(b"x" * 100, maintype="text", subtype="plain", filename=f"{i}.txt")
    dovecot.deliver(big.as_bytes())
    dovecot.deliver(many.as_bytes())
    intake = SqliteIntake(tmp_path / "inbox.db")
    started = time.monotonic()
    adapter = await start(dovecot, tmp_path, intake)
    try:
        assert intake.count() == 2
        by_id = {m.external_id: m for m in intake.messages}
        assert by_id["big@example.org"].attachments[0].size > 20 * 1024 * 1024
        assert len(by_id["many@example.org"].attachments) == 100
        assert by_id["many@example.org"].metadata["attachments_omitted"] == 400
        assert time.monotonic() - started < 30
    finally:
        await adapter.stop()


KILLER = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from pathlib import Path
    sys.path.insert(0, {root!r})
    from channels.email.adapter import EmailAdapter
    from channels.email.settings import EmailSettings
    from tests.channels.email.intake_fake import MessageInbox, SqliteIntake

    async def main():
        intake = SqliteIntake(Path({db!r}))
        async def killing_intake(msg):
            result = await intake(msg)
            if intake.count() == 2:
                os.kill(os.getpid(), signal.SIGKILL)  # after the commit, before \\\\Seen
            return result
        adapter = EmailAdapter(settings=EmailSettings.model_validate_json({settings!r}),
                               state_dir=Path({state!r}))
        await adapter.start(MessageInbox(killing_intake))
        await asyncio.sleep(60)
    asyncio.run(main())
    """
)


async def test_kill_9_between_commit_and_seen(dovecot: Dovecot, tmp_path: Path) -> None:
    for name in NAMES:
        dovecot.deliver((SAMPLES / f"{name}.eml").read_bytes())
    cfg = settings(dovecot)
    script = KILLER.format(
        root=str(Path(__file__).parents[3]),
        db=str(tmp_path / "inbox.db"),
        settings=cfg.model_dump_json(),
        state=str(tmp_path / "state"),
    )
    proc = await asyncio.to_thread(subprocess.run, [sys.executable, "-c", script], timeout=60)
    assert proc.returncode == -signal.SIGKILL
    intake = SqliteIntake(tmp_path / "inbox.db")
    assert intake.count() == 2
    assert seen_flags(dovecot) == [False, False, True]  # the 2nd was committed but never flagged
    adapter = await start(dovecot, tmp_path, intake)
    try:
        assert sorted(intake.ids()) == sorted(set(intake.ids()))
        assert intake.count() == 3
        assert seen_flags(dovecot) == [True, True, True]
    finally:
        await adapter.stop()


@pytest.mark.parametrize("missing", ["/usr/sbin/dovecot"])
def test_dovecot_is_installed(missing: str) -> None:
    assert Path(missing).exists(), "apt-get install -y dovecot-imapd"
