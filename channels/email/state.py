"""Durable email-channel state: IMAP positions and thread memory (in the channel's state)
and raw messages (files under the data dir).

IMAP position (UIDVALIDITY + last imported UID per mailbox and folder) is written only
after the pipeline's commit and the \\Seen flag, so a crash at any point re-reads at most
the message in flight (which the inbox then recognises by its Message-ID) and never skips
one. Raw messages are stored content-addressed (sha256) before intake, so the reference
on the stored message is valid as soon as the message is.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from channels.email.automatic import AutoReplyLimiter
from router.ports.channel_state import ChannelState

log = logging.getLogger(__name__)

RAW_PREFIX = "email-raw:"


@dataclass(frozen=True, slots=True)
class ImapPosition:
    uidvalidity: int
    last_uid: int


class ImapState:
    """UIDVALIDITY + last UID per (mailbox, folder), and the lease on reading a folder, in
    the channel's state: every instance sharing the database sees the same position, and
    one at a time reads a folder, so each mail is imported once."""

    def __init__(self, state: ChannelState) -> None:
        self.state = state

    async def get(self, mailbox: str, folder: str) -> ImapPosition | None:
        found = await self.state.get(f"imap:{mailbox}/{folder}")
        return ImapPosition(int(found[0]), int(found[1])) if found else None

    async def save(self, mailbox: str, folder: str, position: ImapPosition) -> None:
        await self.state.put(f"imap:{mailbox}/{folder}", [position.uidvalidity, position.last_uid])

    async def claim(self, mailbox: str, folder: str, owner: str, ttl: float) -> bool:
        """Whether `owner` may read the folder now (another instance is not reading it)."""
        return await self.state.claim(f"imap-read:{mailbox}/{folder}", owner, ttl)

    async def release(self, mailbox: str, folder: str, owner: str) -> None:
        await self.state.release(f"imap-read:{mailbox}/{folder}", owner)


class RawStore:
    """Raw messages as `<root>/<sha[:2]>/<sha>.eml`; the reference is `email-raw:<sha>`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, raw: bytes) -> str:
        digest = hashlib.sha256(raw).hexdigest()
        path = self.path(f"{RAW_PREFIX}{digest}")
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            with open(tmp, "wb") as fh:
                fh.write(raw)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        return f"{RAW_PREFIX}{digest}"

    def path(self, ref: str) -> Path:
        digest = ref.removeprefix(RAW_PREFIX).split("#", 1)[0]
        if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
            raise ValueError(f"not an email raw reference: {ref!r}")
        return self.root / digest[:2] / f"{digest}.eml"

    def get(self, ref: str) -> bytes:
        return self.path(ref).read_bytes()


class ThreadMemory:
    """Per conversation: the last customer mail's subject, Message-ID and References.

    Agent replies may reach `send` without the answered mail's metadata; this lets every
    reply still carry In-Reply-To/References and the original subject, so it threads in
    the customer's client instead of starting a new thread there. Kept in the channel's
    state, tied to the conversation (shared by instances, erased with the contact).
    """

    def __init__(self, state: ChannelState) -> None:
        self.state = state

    async def remember(self, conversation_id: int, subject: str, message_id: str,
                       references: list[str]) -> None:
        await self.state.put(f"thread:{conversation_id}", {
            "subject": subject, "message_id": message_id, "references": list(references)},
            conversation_id=conversation_id)

    async def get(self, conversation_id: int) -> dict[str, Any]:
        found = await self.state.get(f"thread:{conversation_id}")
        return dict(found) if found else {}


LEGACY_DONE = "legacy:imported"


async def import_legacy(state_dir: Path, state: ChannelState, *, today: str) -> int:
    """Once: copy the private SQLite files of earlier versions (IMAP positions, thread
    memory, today's auto-reply counts) into the channel's state, so an upgrade loses
    nothing. The files are left where they were (privacy erase still cleans them)."""
    if await state.get(LEGACY_DONE) is not None:
        return 0
    copied = 0
    for name, table, sql in _LEGACY:
        path = state_dir / name
        if not path.is_file():
            continue
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            if not db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (table,)).fetchone():
                continue
            rows = db.execute(sql).fetchall()
        finally:
            db.close()
        for row in rows:
            copied += await _import_row(state, table, row, today)
    await state.put(LEGACY_DONE, {"rows": copied})
    if copied:
        log.info("email: imported %d rows of earlier state files into the channel state", copied)
    return copied


_LEGACY = (
    ("email-state.sqlite3", "imap_position",
     "SELECT mailbox, folder, uidvalidity, last_uid FROM imap_position"),
    ("email-state.sqlite3", "thread_memory",
     "SELECT conversation_id, subject, message_id, refs FROM thread_memory"),
    ("email-autoreply.sqlite3", "auto_replies", "SELECT address, day, count FROM auto_replies"),
)


async def _import_row(state: ChannelState, table: str, row: tuple[Any, ...], today: str) -> int:
    if table == "imap_position":
        imap = ImapState(state)
        if await imap.get(row[0], row[1]) is None:  # another instance may have moved on
            await imap.save(row[0], row[1], ImapPosition(int(row[2]), int(row[3])))
        return 1
    if table == "thread_memory":
        memory = ThreadMemory(state)
        if not await memory.get(int(row[0])):
            await memory.remember(int(row[0]), row[1], row[2], json.loads(row[3]))
        return 1
    if row[1] != today:  # only today's counts still limit anything
        return 0
    limiter = AutoReplyLimiter(state, limit=int(row[2]))
    for _ in range(int(row[2])):
        await limiter.try_acquire(str(row[0]), day=today)
    return 1
