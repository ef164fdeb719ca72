"""Durable email-channel state under the data dir: IMAP positions and raw messages.

IMAP position (UIDVALIDITY + last imported UID per mailbox and folder) is written only
after the pipeline's commit and the \\Seen flag, so a crash at any point re-reads at most
the message in flight (which the inbox then recognises by its Message-ID) and never skips
one. Raw messages are stored content-addressed (sha256) before intake, so the reference
on the stored message is valid as soon as the message is.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RAW_PREFIX = "email-raw:"


@dataclass(frozen=True, slots=True)
class ImapPosition:
    uidvalidity: int
    last_uid: int


class ImapState:
    """UIDVALIDITY + last UID per (mailbox, folder), in a small SQLite file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS imap_position (mailbox TEXT NOT NULL, folder TEXT NOT NULL,"
            " uidvalidity INTEGER NOT NULL, last_uid INTEGER NOT NULL, PRIMARY KEY (mailbox, folder))"
        )

    def get(self, mailbox: str, folder: str) -> ImapPosition | None:
        row = self._db.execute(
            "SELECT uidvalidity, last_uid FROM imap_position WHERE mailbox = ? AND folder = ?",
            (mailbox, folder),
        ).fetchone()
        return ImapPosition(int(row[0]), int(row[1])) if row else None

    def save(self, mailbox: str, folder: str, position: ImapPosition) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO imap_position (mailbox, folder, uidvalidity, last_uid) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (mailbox, folder) DO UPDATE SET uidvalidity = excluded.uidvalidity,"
                " last_uid = excluded.last_uid",
                (mailbox, folder, position.uidvalidity, position.last_uid),
            )

    def close(self) -> None:
        self._db.close()


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
    the customer's client instead of starting a new thread there.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS thread_memory (conversation_id INTEGER PRIMARY KEY,"
            " subject TEXT NOT NULL, message_id TEXT NOT NULL, refs TEXT NOT NULL)"
        )

    def remember(self, conversation_id: int, subject: str, message_id: str, references: list[str]) -> None:
        self._db.execute(
            "INSERT INTO thread_memory (conversation_id, subject, message_id, refs) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (conversation_id) DO UPDATE SET subject = excluded.subject,"
            " message_id = excluded.message_id, refs = excluded.refs",
            (conversation_id, subject, message_id, json.dumps(references)),
        )

    def get(self, conversation_id: int) -> dict[str, Any]:
        row = self._db.execute(
            "SELECT subject, message_id, refs FROM thread_memory WHERE conversation_id = ?",
            (conversation_id,),
        ).fetchone()
        if row is None:
            return {}
        return {"subject": row[0], "message_id": row[1], "references": json.loads(row[2])}

    def close(self) -> None:
        self._db.close()
