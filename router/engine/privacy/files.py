"""Files under the data dir that belong to stored messages: raw mail and downloads.

Email keeps each raw message content-addressed as `email/raw/<sha[:2]>/<sha>.eml` and
refers to it as `email-raw:<sha>` (the message's `raw.ref`, and `email-raw:<sha>#<part>`
on attachments); Telegram downloads are `stored` paths relative to the data dir.
Telegram file ids and Slack URLs point at the platform, not at us: nothing to delete.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

EMAIL_RAW_PREFIX = "email-raw:"  # channels/email/state.py RAW_PREFIX
EMAIL_RAW_DIR = ("email", "raw")


def _email_raw(data_dir: Path, ref: str) -> Path | None:
    if not ref.startswith(EMAIL_RAW_PREFIX):
        return None
    digest = ref.removeprefix(EMAIL_RAW_PREFIX).split("#", 1)[0]
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        return None
    return data_dir.joinpath(*EMAIL_RAW_DIR, digest[:2], f"{digest}.eml")


def _inside(data_dir: Path, relative: str) -> Path | None:
    """`relative` under the data dir, or None if it tries to leave it."""
    root = data_dir.resolve()
    path = (root / relative).resolve()
    return path if path.is_relative_to(root) and path != root else None


def message_paths(data_dir: Path, messages: Iterable[dict[str, Any]]) -> list[Path]:
    """Existing files referenced by these `Tx.message_files` entries (deduplicated)."""
    found: dict[Path, None] = {}
    for m in messages:
        refs = [str((m.get("raw") or {}).get("ref") or "")]
        for a in m.get("attachments") or []:
            refs.append(str(a.get("ref") or ""))
            if a.get("stored") and (p := _inside(data_dir, str(a["stored"]))) is not None:
                found[p] = None
        for ref in refs:
            if (p := _email_raw(data_dir, ref)) is not None:
                found[p] = None
    return [p for p in found if p.is_file()]


def describe(data_dir: Path, paths: Sequence[Path]) -> list[dict[str, Any]]:
    """Files for an export: path, size, sha256 and the bytes (base64: raw mail is bytes)."""
    out = []
    for p in paths:
        body = p.read_bytes()
        out.append({"path": str(p.relative_to(data_dir.resolve()) if p.is_absolute() and
                                p.is_relative_to(data_dir.resolve()) else p),
                    "size": len(body), "sha256": hashlib.sha256(body).hexdigest(),
                    "content_base64": base64.b64encode(body).decode()})
    return out


def delete(paths: Sequence[Path]) -> int:
    removed = 0
    for p in paths:
        try:
            p.unlink()
            removed += 1
        except FileNotFoundError:
            pass
    return removed


def erase_email_state(data_dir: Path, conversation_ids: Sequence[int],
                      addresses: Sequence[str]) -> int:
    """Rows of the email channel's own state files that name the contact: the thread
    memory (subjects) of their conversations and the auto-reply counter per address."""
    removed = 0
    targets = (("email-state.sqlite3", "thread_memory", "conversation_id", list(conversation_ids)),
               ("email-autoreply.sqlite3", "auto_replies", "address",
                [a.lower() for a in addresses] + list(addresses)))
    for name, table, column, values in targets:
        path = data_dir / "email" / name
        if not path.is_file() or not values:
            continue
        try:
            db = sqlite3.connect(path)
            try:
                marks = ",".join("?" * len(values))
                removed += db.execute(f"DELETE FROM {table} WHERE {column} IN ({marks})",
                                      values).rowcount
                db.commit()
                db.execute("VACUUM")  # deleted pages would still hold the text
            finally:
                db.close()
        except sqlite3.Error as exc:
            log.warning("privacy: could not clean %s: %s", name, exc.__class__.__name__)
    return removed
