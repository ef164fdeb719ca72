"""The email channel's state in the `ChannelState` port (issue 25): the private SQLite
files of earlier versions are imported once at start, so an upgrade loses nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from channels.email.automatic import AutoReplyLimiter
from channels.email.state import ImapPosition, ImapState, ThreadMemory, import_legacy
from router.ports.channel_state_local import LocalChannelState

TODAY = "2026-03-10"


def _legacy_files(state_dir: Path) -> None:
    state_dir.mkdir(parents=True)
    db = sqlite3.connect(state_dir / "email-state.sqlite3")
    db.execute("CREATE TABLE imap_position (mailbox TEXT, folder TEXT, uidvalidity INTEGER,"
               " last_uid INTEGER, PRIMARY KEY (mailbox, folder))")
    db.execute("INSERT INTO imap_position VALUES ('support', 'INBOX', 7, 41)")
    db.execute("CREATE TABLE thread_memory (conversation_id INTEGER PRIMARY KEY, subject TEXT,"
               " message_id TEXT, refs TEXT)")
    db.execute("INSERT INTO thread_memory VALUES (3, 'Faktura', '<m1@x>', '[\"<m0@x>\"]')")
    db.commit()
    db.close()
    db = sqlite3.connect(state_dir / "email-autoreply.sqlite3")
    db.execute("CREATE TABLE auto_replies (address TEXT, day TEXT, count INTEGER,"
               " PRIMARY KEY (address, day))")
    db.executemany("INSERT INTO auto_replies VALUES (?, ?, ?)",
                   [("asa@kund.example", TODAY, 2), ("asa@kund.example", "2026-03-09", 5)])
    db.commit()
    db.close()


async def test_earlier_state_files_are_imported_once(tmp_path: Path):
    state_dir = tmp_path / "email"
    _legacy_files(state_dir)
    state = LocalChannelState(tmp_path / "state.db", "email")
    try:
        assert await import_legacy(state_dir, state, today=TODAY) == 3
        assert await ImapState(state).get("support", "INBOX") == ImapPosition(7, 41)
        assert await ThreadMemory(state).get(3) == {
            "subject": "Faktura", "message_id": "<m1@x>", "references": ["<m0@x>"]}
        limiter = AutoReplyLimiter(state, limit=3)
        day = {"day": TODAY}
        assert len(await state.scan(f"autoreply:{TODAY}:")) == 2  # yesterday's count is past
        assert await limiter.try_acquire("asa@kund.example", **day) is not None  # the third
        assert await limiter.try_acquire("asa@kund.example", **day) is None  # cap reached
        # a second start imports nothing again; the files are left where they were
        await ImapState(state).save("support", "INBOX", ImapPosition(7, 50))
        assert await import_legacy(state_dir, state, today=TODAY) == 0
        assert await ImapState(state).get("support", "INBOX") == ImapPosition(7, 50)
        assert (state_dir / "email-state.sqlite3").is_file()
    finally:
        await state.close()


async def test_a_released_slot_is_free_again(tmp_path: Path):
    state = LocalChannelState(tmp_path / "state.db", "email")
    try:
        limiter = AutoReplyLimiter(state, limit=1)
        slot = await limiter.try_acquire("ulla@example.se", conversation_id=4, day=TODAY)
        assert slot is not None
        assert await limiter.try_acquire("ulla@example.se", day=TODAY) is None
        await limiter.release(slot)  # the send failed: the budget is not used up
        assert await limiter.try_acquire("ulla@example.se", day=TODAY) is not None
        assert await limiter.try_acquire("other@example.se", day=TODAY) is not None
    finally:
        await state.close()
